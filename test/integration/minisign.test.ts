/**
 * minisign end to end, with Debian's real `minisign` binary: keys made by
 * `minisign -G -W`, releases and manifests signed by `minisign -S`, and a
 * real supervisor that installs what the key signed and refuses, changing
 * nothing on disk, a tampered tarball, another key, an edited trusted
 * comment, an unsigned release, and a replayed older manifest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMinisig } from '../../supervisor/update/minisign.ts';
import { packRelease } from '../../supervisor/update/pack.ts';
import { makeFeed, writeRelease } from '../support/feed.ts';
import { minisignSigner } from '../support/minisign-signer.ts';
import { nodeHost } from '../support/node-host.ts';
import { api, cleanup, killLater, tempDir } from '../support/supervisor.ts';
import { apply, finalState, lockReleased, runOutlast, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { alive, waitFor } from '../support/wait.ts';
import { serve, type TestServer } from '../update/helpers.ts';

afterEach(cleanup);

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** Why minisign cannot be run here, or undefined when it can. */
function minisignProblem(): string | undefined {
  try {
    execFileSync('minisign', ['-v'], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `minisign cannot be run (install it: apt-get install minisign): ${(err as Error).message.split('\n')[0]}`;
  }
}

const problem = minisignProblem();
if (problem !== undefined) console.log(`skipping the minisign tests: ${problem}`);
/** minisign 0.10+ signs prehashed by default and legacy with -l; before, legacy by default and prehashed with -H. */
const usage = problem === undefined ? spawnSync('minisign', ['-h'], { encoding: 'utf8' }) : undefined;
const help = `${usage?.stdout ?? ''}${usage?.stderr ?? ''}`;
const FORM_FLAGS = /^\s*-l\s/m.test(help) ? { legacy: ['-l'], prehashed: [] } : { legacy: [], prehashed: ['-H'] };

function minisign(args: string[]): void {
  execFileSync('minisign', args, { stdio: 'pipe' });
}

/** A key pair made by `minisign -G -W` (no password): the .pub file's text, its RW… line, and the secret key's path. */
function keyPair(name: string): { pubText: string; pubLine: string; secret: string } {
  const dir = tempDir('outlast-minisign-');
  const pub = join(dir, `${name}.pub`);
  const secret = join(dir, `${name}.key`);
  minisign(['-G', '-W', '-p', pub, '-s', secret]);
  const pubText = readFileSync(pub, 'utf8');
  return { pubText, pubLine: pubText.split('\n')[1]!, secret };
}

/** `minisign -S` of `file` into `out` (default `<file>.minisig`); returns the signature's text. */
function sign(file: string, secret: string, options: { legacy?: boolean; comment?: string; out?: string } = {}): string {
  const out = options.out ?? `${file}.minisig`;
  const form = options.legacy === true ? FORM_FLAGS.legacy : FORM_FLAGS.prehashed;
  minisign(['-S', ...form, '-s', secret, '-m', file, '-x', out, ...(options.comment === undefined ? [] : ['-t', options.comment])]);
  const text = readFileSync(out, 'utf8');
  // What the test means to exercise is what minisign wrote.
  expect(parseMinisig(text, file).algorithm).toBe(options.legacy === true ? 'Ed' : 'ED');
  return text;
}

/** Whether `minisign -V` itself accepts `sig` over `file` by the key `pubText`. */
function minisignAccepts(file: string, sig: string, pubText: string): boolean {
  const dir = tempDir('outlast-minisign-v-');
  writeFileSync(join(dir, 'k.pub'), pubText);
  writeFileSync(join(dir, 's.minisig'), sig);
  try {
    minisign(['-V', '-p', join(dir, 'k.pub'), '-x', join(dir, 's.minisig'), '-m', file]);
    return true;
  } catch {
    return false;
  }
}

type Entry = { version: string; url: string; sha256: string; size: number; minisig?: string };
type Manifest = { serial?: number; versions: Entry[] };

const readManifest = (feed: string): Manifest => JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as Manifest;
const writeManifest = (feed: string, manifest: Manifest): void => writeFileSync(join(feed, 'manifest.json'), JSON.stringify(manifest, null, 2));
const tarball = (feed: string, version: string): string => join(feed, `release-app-${version}.tgz`);

function editEntry(feed: string, version: string, edit: (entry: Entry) => void): void {
  const manifest = readManifest(feed);
  edit(manifest.versions.find((e) => e.version === version)!);
  writeManifest(feed, manifest);
}

/** Replaces a release's tarball with another release's bytes, and its manifest entry to match, as whoever controls the feed could. */
async function tamper(feed: string, version: string): Promise<void> {
  const dir = tempDir('outlast-evil-');
  writeRelease(dir, version, { mode: 'ok' }, { 'evil.txt': 'not what was signed' });
  const out = tempDir('outlast-evil-out-');
  const { tarball: evil, entry } = await packRelease(nodeHost.fs, { dir, version, out, name: 'release-app' });
  copyFileSync(evil, tarball(feed, version));
  editEntry(feed, version, (e) => Object.assign(e, { sha256: entry.sha256, size: entry.size }));
}

/** Flips one byte in the middle of a release's tarball: the size stays, the manifest entry no longer matches. */
function flipByte(feed: string, version: string): void {
  const bytes = readFileSync(tarball(feed, version));
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  writeFileSync(tarball(feed, version), bytes);
}

/** Replaces the trusted comment of a .minisig, keeping every other line. */
function editTrustedComment(sig: string, comment: string): string {
  return sig.replace(/^trusted comment: .*$/m, `trusted comment: ${comment}`);
}

/** Serves `feed` over loopback HTTP. */
async function serveFeed(feed: string): Promise<TestServer> {
  const server = await serve((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    const path = join(feed, name);
    if (name.includes('/') || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(statSync(path).size) });
    createReadStream(path).pipe(res);
  });
  servers.push(server);
  return server;
}

/** Staging leftovers and temp files under the state dir: none may survive a refusal. */
function leftovers(stateDir: string): string[] {
  return [...readdirSync(join(stateDir, 'releases')).filter((n) => n.startsWith('.staging')), ...readdirSync(stateDir).filter((n) => n.endsWith('.tmp'))];
}

describe.skipIf(problem !== undefined)('minisign release signatures', () => {
  it('installs releases minisign signed (file and manifest field, prehashed and legacy) and refuses every bad one, changing nothing', async () => {
    const trusted = keyPair('trusted');
    const other = keyPair('other');
    const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.4.1', '1.5.0', '1.6.0', '1.7.0'];
    const feed = await makeFeed(versions.map((version) => ({ version })));

    sign(tarball(feed, '1.0.0'), trusted.secret, { comment: 'release 1.0.0' });
    sign(tarball(feed, '1.1.0'), trusted.secret, { legacy: true });
    // 1.2.0 and 1.3.0 carry their signature in the manifest entry, no file.
    for (const [version, legacy] of [['1.2.0', false], ['1.3.0', true]] as const) {
      const text = sign(tarball(feed, version), trusted.secret, { legacy, out: join(tempDir(), 'sig.minisig') });
      editEntry(feed, version, (e) => (e.minisig = text));
    }
    // 1.4.0: other bytes, the manifest rewritten to match them. 1.4.1: one
    // byte flipped, the manifest as it was: named a bad signature too, as
    // the signature is checked before the (unsigned) manifest's sha256.
    for (const version of ['1.4.0', '1.4.1']) sign(tarball(feed, version), trusted.secret);
    await tamper(feed, '1.4.0');
    flipByte(feed, '1.4.1');
    sign(tarball(feed, '1.5.0'), other.secret);
    const honest = sign(tarball(feed, '1.6.0'), trusted.secret, { comment: 'release 1.6.0' });
    const edited = editTrustedComment(honest, 'release 1.6.0, audited');
    writeFileSync(`${tarball(feed, '1.6.0')}.minisig`, edited);
    // minisign itself agrees about the edit, and accepts what the unit tests' signer writes.
    expect(minisignAccepts(tarball(feed, '1.6.0'), honest, trusted.pubText)).toBe(true);
    expect(minisignAccepts(tarball(feed, '1.6.0'), edited, trusted.pubText)).toBe(false);
    const signer = minisignSigner();
    for (const legacy of [false, true]) {
      expect(minisignAccepts(tarball(feed, '1.6.0'), signer.sign(readFileSync(tarball(feed, '1.6.0')), { legacy }), signer.pubText), `legacy ${legacy}`).toBe(true);
    }
    // 1.7.0: no signature at all.

    // The whole .pub file as the key; 1.0.0 is verified by the first install.
    const { cli, port } = await startUpdating({ type: 'dir', path: feed, minisignKey: trusted.pubText });
    expect(await serviceVersion(port)).toBe('1.0.0');
    for (const version of ['1.1.0', '1.2.0', '1.3.0']) {
      const res = await apply(cli, { version });
      expect(res.status, JSON.stringify(res.json)).toBe(202);
      expect((await finalState(cli, res.json.id as string)).state, version).toBe('committed');
      expect(await serviceVersion(port)).toBe(version);
    }

    const before = store(cli.stateDir);
    const refusals: Array<[string, string]> = [
      ['1.4.0', 'bad-signature'],
      ['1.4.1', 'bad-signature'],
      ['1.5.0', 'wrong-key'],
      ['1.6.0', 'trusted-comment'],
      ['1.7.0', 'unsigned'],
    ];
    for (const [version, reason] of refusals) {
      const res = await apply(cli, { version });
      expect(res.status, `${version}: ${JSON.stringify(res.json)}`).toBe(422);
      expect(res.json, version).toMatchObject({ error: { code: 'SIGNATURE_INVALID', details: { reason } } });
      await lockReleased(cli.stateDir);
      expect(store(cli.stateDir), version).toEqual(before);
      expect(leftovers(cli.stateDir), version).toEqual([]);
    }
    expect(readdirSync(join(cli.stateDir, 'releases'))).not.toContain('1.4.0');
    expect(await serviceVersion(port)).toBe('1.3.0');
    const wrongKey = await apply(cli, { version: '1.5.0' });
    expect((wrongKey.json.error as { message: string }).message).toContain('not by the configured minisignKey');
  });

  it('over http: fetches <tarball>.minisig beside the tarball, and refuses a wrong key or an edited comment before downloading it', async () => {
    const trusted = keyPair('trusted');
    const other = keyPair('other');
    const feed = await makeFeed(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'].map((version) => ({ version })));
    for (const version of ['1.0.0', '1.1.0', '1.4.0']) sign(tarball(feed, version), trusted.secret);
    sign(tarball(feed, '1.2.0'), other.secret);
    writeFileSync(`${tarball(feed, '1.3.0')}.minisig`, editTrustedComment(sign(tarball(feed, '1.3.0'), trusted.secret), 'edited'));
    await tamper(feed, '1.4.0');
    const server = await serveFeed(feed);

    // The RW… line alone as the key.
    const { cli, port } = await startUpdating({ type: 'http', manifest: `${server.url}/manifest.json`, retries: 0, minisignKey: trusted.pubLine });
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status).toBe(202);
    expect((await finalState(cli, res.json.id as string)).state).toBe('committed');
    expect(server.requests).toContain('GET /release-app-1.1.0.tgz.minisig');

    const before = store(cli.stateDir);
    for (const [version, reason] of [['1.2.0', 'wrong-key'], ['1.3.0', 'trusted-comment'], ['1.4.0', 'bad-signature']]) {
      const refused = await apply(cli, { version });
      expect(refused.status, version).toBe(422);
      expect(refused.json, version).toMatchObject({ error: { code: 'SIGNATURE_INVALID', details: { reason } } });
      await lockReleased(cli.stateDir);
      expect(store(cli.stateDir), version).toEqual(before);
      expect(leftovers(cli.stateDir), version).toEqual([]);
    }
    // What the signature's own lines refuse costs no download; a tampered tarball must be read to be found out.
    expect(server.requests).not.toContain('GET /release-app-1.2.0.tgz');
    expect(server.requests).not.toContain('GET /release-app-1.3.0.tgz');
    expect(server.requests).toContain('GET /release-app-1.4.0.tgz');
    expect(await serviceVersion(port)).toBe('1.1.0');
  });
});

describe.skipIf(problem !== undefined)('a minisign-signed manifest', () => {
  it('refuses a replayed older manifest with 409 MANIFEST_REPLAYED, across a restart, and an unsigned or edited one with 422', async () => {
    const trusted = keyPair('trusted');
    const feed = await makeFeed([{ version: '1.0.0' }]);
    const manifestPath = join(feed, 'manifest.json');
    sign(tarball(feed, '1.0.0'), trusted.secret);
    sign(manifestPath, trusted.secret, { comment: 'feed edition 1' });
    expect(readManifest(feed).serial).toBe(1);
    const saved = tempDir('outlast-old-edition-');
    for (const name of ['manifest.json', 'manifest.json.minisig']) copyFileSync(join(feed, name), join(saved, name));

    const source = { type: 'dir', path: feed, minisignKey: trusted.pubLine, requireSignedManifest: true };
    const { cli } = await startUpdating(source);
    const record = join(cli.stateDir, 'manifest-serial.json');
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ source: feed, serial: 1 });

    // Edition 2 offers 1.1.0.
    const project = tempDir('outlast-project-');
    writeRelease(project, '1.1.0');
    await packRelease(nodeHost.fs, { dir: project, version: '1.1.0', feed, name: 'release-app' });
    sign(tarball(feed, '1.1.0'), trusted.secret);
    sign(manifestPath, trusted.secret, { comment: 'feed edition 2' });
    const check = await api(cli, 'GET', '/updates/check?force=1');
    expect(check.json).toMatchObject({ current: '1.0.0', latest: '1.1.0', available: true });
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ serial: 2, sha256: createHash('sha256').update(readFileSync(manifestPath)).digest('hex') });

    // The feed serves edition 1 again: validly signed, but older.
    const edition2 = { manifest: readFileSync(manifestPath), sig: readFileSync(`${manifestPath}.minisig`) };
    for (const name of ['manifest.json', 'manifest.json.minisig']) copyFileSync(join(saved, name), join(feed, name));
    const before = store(cli.stateDir);
    const replayed = await api(cli, 'GET', '/updates/check?force=1');
    expect(replayed.status).toBe(409);
    expect(replayed.json).toMatchObject({ error: { code: 'MANIFEST_REPLAYED', details: { serial: 1, accepted: 2, reason: 'older' } } });
    const refusedApply = await apply(cli, {});
    expect(refusedApply.status).toBe(409);
    expect(refusedApply.json).toMatchObject({ error: { code: 'MANIFEST_REPLAYED' } });
    const cliCheck = await runOutlast(['check', '--state-dir', cli.stateDir]);
    expect(cliCheck.code).toBe(65);
    expect(cliCheck.stderr).toContain('lower than serial 2');

    // Unsigned, and with an edited trusted comment: 422, whatever the serial says.
    const bumped = { ...readManifest(feed), serial: 99 };
    writeManifest(feed, bumped);
    rmSync(`${manifestPath}.minisig`);
    const unsigned = await api(cli, 'GET', '/updates/check?force=1');
    expect(unsigned.status).toBe(422);
    expect(unsigned.json).toMatchObject({ error: { code: 'SIGNATURE_INVALID', details: { reason: 'manifest-unsigned' } } });
    writeFileSync(`${manifestPath}.minisig`, editTrustedComment(sign(manifestPath, trusted.secret, { comment: 'edition 99' }), 'edition 100'));
    const edited = await api(cli, 'GET', '/updates/check?force=1');
    expect(edited.json).toMatchObject({ error: { code: 'SIGNATURE_INVALID', details: { reason: 'trusted-comment' } } });
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ serial: 2 });
    expect(store(cli.stateDir)).toEqual(before);
    expect(leftovers(cli.stateDir)).toEqual([]);

    // The record outlives the supervisor: a new one on the same state dir refuses the replay too.
    cli.proc.kill('SIGTERM');
    await cli.exited;
    // The stop's detached diagnostic writes into the state dir: let it finish before the dir is reused and removed.
    const diagPid = cli.logs().find((l) => l.msg === 'shutdown diagnostic started')?.diagPid;
    if (typeof diagPid === 'number') {
      killLater(diagPid);
      await waitFor(() => !alive(diagPid), 'the shutdown diagnostic to end', 10_000);
    }
    for (const name of ['manifest.json', 'manifest.json.minisig']) copyFileSync(join(saved, name), join(feed, name));
    const again = await startUpdating(source, { stateDir: cli.stateDir });
    const afterRestart = await api(again.cli, 'GET', '/updates/check?force=1');
    expect(afterRestart.json).toMatchObject({ error: { code: 'MANIFEST_REPLAYED', details: { accepted: 2 } } });
    expect(await serviceVersion(again.port)).toBe('1.0.0');

    // Edition 2 back: the update goes through.
    writeFileSync(manifestPath, edition2.manifest);
    writeFileSync(`${manifestPath}.minisig`, edition2.sig);
    const res = await apply(again.cli, { version: '1.1.0' });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect((await finalState(again.cli, res.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(again.port)).toBe('1.1.0');
  });
});
