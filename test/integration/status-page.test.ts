/**
 * The status page in a real browser: Debian's chromium, headless, driven by
 * puppeteer-core, against a real supervisor updating from a dir feed. The
 * page logs in with a one-time link and with the token form, shows the
 * version live, applies 1.1.0 to "committed" and a release that crashes on
 * start to "rolled-back" with the reason; and the API refuses a request
 * with no credential, or with the session from another origin.
 *
 * OUTLAST_SCREENSHOTS=<dir> keeps the phone and desktop screenshots there
 * (docs/status-page.png is the phone one).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed } from '../support/feed.ts';
import { api, cleanup, onCleanup, ROOT, supervisorInfo, tempDir, token } from '../support/supervisor.ts';
import { runOutlast, serviceVersion, startUpdating } from '../support/update-supervisor.ts';
import { alive } from '../support/wait.ts';

// The binary itself, not Debian's /usr/bin/chromium shell wrapper: the
// process puppeteer starts, and kills, is then the browser.
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
if (CHROMIUM === undefined) console.log('skipping the status page browser test: no chromium installed (apt-get install chromium)');

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

afterEach(cleanup);

/** A headless chromium, closed (and killed if it will not close) at cleanup. */
async function launch(): Promise<Browser> {
  const profile = tempDir('outlast-chromium-');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Root has no user namespace sandbox here; no GPU, no crash reporter, no first-run chatter.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-crash-reporter', '--no-first-run', '--no-default-browser-check'],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const pid = browser.process()?.pid;
  onCleanup(async () => {
    await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 5000))]).catch(() => undefined);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return browser;
}

/** A page at phone size that records every console error and script failure. */
async function phonePage(browser: Browser, problems: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport(PHONE);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
  return page;
}

// What runs in the page is written as expressions: the tests' tsconfig has
// no DOM types, and the supervisor's code must not see them either.

/** Evaluates `expression` in the page. */
function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** The page's element `selector`, as an expression. */
const query = (selector: string): string => `document.querySelector(${JSON.stringify(selector)})`;

/** The trimmed text of `selector`, or null when there is no such element. */
function textOf(page: Page, selector: string): Promise<string | null> {
  return inPage(page, `${query(selector)}?.textContent?.trim() ?? null`);
}

/** Waits until `expression` is true in the page. */
async function until(page: Page, expression: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(expression, { timeout, polling: 50 });
}

/** Waits until `selector`'s text is `value`; on timeout, says what it was. */
async function waitText(page: Page, selector: string, value: string, timeout = 15_000): Promise<void> {
  try {
    await until(page, `${query(selector)}?.textContent?.trim() === ${JSON.stringify(value)}`, timeout);
  } catch (err) {
    throw new Error(`${selector} never read "${value}" (it reads "${await textOf(page, selector)}"): ${(err as Error).message}`);
  }
}

/** Types `version` into the apply form, presses Apply and confirms in the page's dialog. */
async function applyFromPage(page: Page, version: string): Promise<void> {
  await inPage(page, `${query('#apply-version')}.value = ''`);
  await page.type('#apply-version', version);
  await page.click('#apply');
  await page.waitForSelector('#confirm[open]');
  expect(await textOf(page, '#confirm-text')).toContain(`Apply ${version}?`);
  await page.click('#confirm-ok');
}

/** The phases the operation panel lists. */
function phasesShown(page: Page): Promise<string[]> {
  return inPage(page, `[...document.querySelectorAll('#op-phases li')].map((item) => item.dataset.phase)`);
}

describe.skipIf(CHROMIUM === undefined)('the status page in a real browser', () => {
  it('logs in by link and by token, applies 1.1.0 to committed, rolls a crashing 1.2.0 back with the reason, and keeps the API closed', { timeout: 120_000 }, async () => {
    const feed = await makeFeed([{ version: '1.0.0' }, { version: '1.1.0' }, { version: '1.2.0', behaviour: { mode: 'crash' } }]);
    const { cli, port } = await startUpdating({ type: 'dir', path: feed });
    const { apiUrl } = await supervisorInfo(cli);
    const browser = await launch();
    const problems: string[] = [];

    // (1) The one-time link `outlast status --url` prints: it logs in, once.
    const run = await runOutlast(['status', '--url', '--state-dir', cli.stateDir]);
    expect(run.code, run.stderr).toBe(0);
    const link = run.stdout.trim();
    expect(link).toMatch(new RegExp(`^${apiUrl.replaceAll('.', '\\.')}/login\\?t=[A-Za-z0-9_-]{22}$`));
    const page = await phonePage(browser, problems);
    await page.goto(link);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/');
    // (2) The version, live from the API.
    await waitText(page, '#svc-version', '1.0.0');
    await waitText(page, '#svc-state', 'ready');
    const cookies = await browser.cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'outlast_session', httpOnly: true, sameSite: 'Strict', path: '/' })]);
    const used = await fetch(link, { redirect: 'manual' });
    expect([used.status, used.headers.get('location')]).toEqual([303, './?login=expired']);
    await until(page, `${query('#live')}.classList.contains('on')`);
    await until(page, `${query('#plat-kind')}.textContent !== '…'`);
    expect(await textOf(page, '#plat-strategy')).toMatch(/^(reexec|detached|watchdog|manager)$/);

    // (1) The token form, in a browser context of its own (no cookie yet).
    const other = await browser.createBrowserContext();
    const formPage = await other.newPage();
    await formPage.goto(`${apiUrl}/`);
    await formPage.waitForSelector('#login:not([hidden])');
    await formPage.type('#token', 'not-the-token');
    await formPage.click('#login-button');
    await until(formPage, `${query('#login-error')}.textContent.startsWith('UNAUTHORIZED: ')`);
    await inPage(formPage, `${query('#token')}.value = ''`);
    await formPage.type('#token', token(cli.stateDir));
    await formPage.click('#login-button');
    await waitText(formPage, '#svc-version', '1.0.0');
    await other.close();

    // (3) Apply 1.1.0 from the page: the phases as they happen, up to committed.
    await applyFromPage(page, '1.1.0');
    await waitText(page, '#op-state', 'committed', 30_000);
    const seen = (await inPage<string>(page, `${query('#op')}.dataset.seen`)).split(' ');
    expect(seen).toEqual(expect.arrayContaining(['fetch', 'switch', 'restart', 'health-gate', 'commit', 'done']));
    expect(seen.indexOf('switch')).toBeLessThan(seen.indexOf('health-gate'));
    expect(await phasesShown(page)).toEqual(expect.arrayContaining(['fetch', 'switch', 'restart', 'health-gate', 'commit']));
    expect(await textOf(page, '#op-error')).toBe('');
    expect(await serviceVersion(port)).toBe('1.1.0');
    await waitText(page, '#svc-version', '1.1.0');
    await page.waitForSelector('#history-list li[data-state=committed]');

    // (4) The broken 1.2.0: it crashes on start, and the page shows the rollback and why.
    await applyFromPage(page, '1.2.0');
    await waitText(page, '#op-state', 'rolled-back', 30_000);
    expect(await textOf(page, '#op-error')).toMatch(/^HEALTH_GATE_FAILED: /);
    expect(await serviceVersion(port)).toBe('1.1.0');
    await page.waitForSelector('#history-list li[data-state=rolled-back] .error');
    expect(await inPage(page, `${query('#history-list li')}.dataset.state`)).toBe('rolled-back');

    // The phone layout fits the phone: nothing wider than the screen.
    await waitText(page, '#svc-state', 'ready');
    expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    const shots = process.env.OUTLAST_SCREENSHOTS ?? tempDir('outlast-shots-');
    mkdirSync(shots, { recursive: true });
    await inPage(page, 'window.scrollTo(0, 0)');
    writeFileSync(join(shots, 'status-page-phone.png'), await page.screenshot({ type: 'png' }));
    await page.setViewport(DESKTOP);
    writeFileSync(join(shots, 'status-page-desktop.png'), await page.screenshot({ type: 'png' }));
    expect(problems).toEqual([]);

    // (5) From outside the page: no credential, or the session from another origin, is refused.
    const cookie = `outlast_session=${cookies[0]!.value}`;
    expect((await api(cli, 'GET', '/status', { auth: false })).status).toBe(401);
    expect((await api(cli, 'POST', '/updates/rollback', { auth: false })).status).toBe(401);
    const foreign = await api(cli, 'POST', '/restart', { auth: false, headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect([foreign.status, (foreign.json.error as { code: string }).code]).toEqual([403, 'FORBIDDEN']);
    const noOrigin = await api(cli, 'POST', '/restart', { auth: false, headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(noOrigin.status).toBe(403);
    const crossSite = await api(cli, 'GET', '/status', { auth: false, headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect((await api(cli, 'GET', '/status', { auth: false, headers: { cookie } })).status).toBe(200);
    // Bearer clients work as before.
    expect((await api(cli, 'GET', '/status')).json).toMatchObject({ service: { version: '1.1.0', state: 'ready' } });
  });
});

describe('the installed form', () => {
  it('ships the page files in the npm package, next to dist/', async () => {
    // The "files" list as npm applies it; --ignore-scripts skips the prepack build.
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 60_000 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path);
    const page = readdirSync(join(ROOT, 'supervisor/api/page'));
    expect(page).toContain('index.html');
    expect(files).toEqual(expect.arrayContaining(page.map((name) => `supervisor/api/page/${name}`)));
    expect(files.filter((path) => path.startsWith('supervisor/') && !path.startsWith('supervisor/api/page/'))).toEqual([]);
  });
});
