/**
 * The publisher's side through the real CLI: `outlast keygen`, then
 * `outlast release pack` into a feed, then a real supervisor that trusts only
 * that key applying what was packed, and refusing what another key signed.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRelease } from '../support/feed.ts';
import { cleanup, tempDir } from '../support/supervisor.ts';
import { apply, finalState, runOutlast, serviceVersion, startUpdating, store, type CliRun } from '../support/update-supervisor.ts';

afterEach(cleanup);

/** Runs keygen into `dir` and returns the base64 public key it printed last. */
async function keygen(dir: string, name: string): Promise<string> {
  const run = await runOutlast(['keygen', '--out', dir, '--name', name]);
  expect(run.code, run.stderr).toBe(0);
  const publicKey = run.stdout.trim().split('\n').at(-1) ?? '';
  expect(publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  return publicKey;
}

/** Packs release-app at `version` into `feed` with `key`, through the CLI. */
async function pack(feed: string, version: string, key: string, extra: readonly string[] = []): Promise<CliRun> {
  const dir = join(tempDir('outlast-project-'), 'app');
  writeRelease(dir, version);
  return runOutlast(['release', 'pack', dir, '--version', version, '--key', key, '--feed', feed, '--name', 'release-app', '--json', ...extra]);
}

describe('outlast keygen', () => {
  it('writes a 0600 private key and a public key, and refuses to overwrite them without --force', async () => {
    const dir = tempDir('outlast-keys-');
    const run = await runOutlast(['keygen', '--out', dir]);
    expect(run.code, run.stderr).toBe(0);
    const key = join(dir, 'outlast-release.key');
    const pub = join(dir, 'outlast-release.pub');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(readFileSync(pub, 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(run.stdout).toContain('updates.source.publicKey');
    const before = readFileSync(key, 'utf8');

    const again = await runOutlast(['keygen', '--out', dir]);
    expect(again.code).toBe(76);
    expect(again.stderr).toContain(`${key} already exists; use --force`);
    expect(readFileSync(key, 'utf8')).toBe(before);

    const forced = await runOutlast(['keygen', '--out', dir, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ privateKey: key, publicKey: pub });
    expect(readFileSync(key, 'utf8')).not.toBe(before);
  });

  it('refuses a --name that is a path', async () => {
    const run = await runOutlast(['keygen', '--out', tempDir(), '--name', '../escape']);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('--name "../escape" must be a plain file name');
  });
});

describe('outlast release pack', () => {
  it('names the bad input: version, folder, key, destination', async () => {
    const keys = tempDir('outlast-keys-');
    await keygen(keys, 'k');
    const dir = tempDir('outlast-project-');
    writeRelease(dir, '1.0.0');
    const feed = tempDir('outlast-feed-');
    const cases: Array<[string[], number, string]> = [
      [['release', 'pack', dir, '--version', '1.0', '--feed', feed], 64, '"1.0" is not a semver version'],
      [['release', 'pack', join(dir, 'nope'), '--version', '1.0.0', '--feed', feed], 64, `${join(dir, 'nope')} is not a folder`],
      [['release', 'pack', dir, '--version', '1.0.0', '--feed', feed, '--key', join(keys, 'k.pub')], 64, 'it is a public key'],
      [['release', 'pack', dir, '--version', '1.0.0', '--feed', feed, '--key', join(keys, 'missing.key')], 64, `cannot read --key ${join(keys, 'missing.key')}`],
      [['release', 'pack', dir, '--version', '1.0.0'], 64, 'needs --feed FEED'],
      [['release', 'pack', dir, '--feed', feed], 64, "required option '--version <version>'"],
    ];
    for (const [args, code, message] of cases) {
      const run = await runOutlast(args);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.stderr).toContain(message);
    }
    expect(statSync(feed).isDirectory()).toBe(true);
    expect(() => statSync(join(feed, 'manifest.json'))).toThrow();
  });

  it('prints what it wrote, and refuses a version already in the feed', async () => {
    const keys = tempDir('outlast-keys-');
    await keygen(keys, 'k');
    const feed = tempDir('outlast-feed-');
    const first = await pack(feed, '1.0.0', join(keys, 'k.key'));
    expect(first.code, first.stderr).toBe(0);
    const printed = JSON.parse(first.stdout) as { tarball: string; manifest: string; signed: boolean; entry: { sha256: string; size: number } };
    expect(printed).toMatchObject({ tarball: join(feed, 'release-app-1.0.0.tgz'), manifest: join(feed, 'manifest.json'), signed: true, serial: 1, manifestSignature: join(feed, 'manifest.json.sig') });
    expect(printed.entry.size).toBe(statSync(printed.tarball).size);
    const again = await pack(feed, '1.0.0', join(keys, 'k.key'));
    expect(again.code).toBe(76);
    expect(again.stderr).toContain('version 1.0.0 is already in');
    expect(again.stderr).toContain('use --force to replace it');
  });

  it('writes --expires into the signed manifest, and will not drop it by a forgotten flag', async () => {
    const keys = tempDir('outlast-keys-');
    await keygen(keys, 'k');
    const feed = tempDir('outlast-feed-');
    const manifestExpiry = (): unknown => (JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8')) as { expires?: unknown }).expires;
    const before = Date.now();
    const first = await pack(feed, '1.0.0', join(keys, 'k.key'), ['--expires', '30d']);
    expect(first.code, first.stderr).toBe(0);
    const expires = Date.parse(String(manifestExpiry()));
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(expires).toBeLessThan(Date.now() + 30 * 86_400_000 + 1000);

    const forgot = await pack(feed, '1.1.0', join(keys, 'k.key'));
    expect(forgot.code).toBe(64);
    expect(forgot.stderr).toContain('give --expires DURATION for the new edition, or --expires never');
    expect(existsSync(join(feed, 'release-app-1.1.0.tgz'))).toBe(false);

    const bad = await pack(feed, '1.1.0', join(keys, 'k.key'), ['--expires', '30']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--expires "30" needs a unit');

    // release rollout writes a new edition too: the same rule, and no old expiry carried on.
    const rolloutForgot = await runOutlast(['release', 'rollout', feed, '1.0.0', '--percent', '10', '--key', join(keys, 'k.key')]);
    expect(rolloutForgot.code).toBe(64);
    expect(rolloutForgot.stderr).toContain('give --expires DURATION for the new edition, or --expires never');
    expect(JSON.parse(readFileSync(join(feed, 'manifest.json'), 'utf8'))).not.toHaveProperty('versions.0.rollout');
    const rolled = await runOutlast(['release', 'rollout', feed, '1.0.0', '--percent', '10', '--key', join(keys, 'k.key'), '--expires', '7d']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain('expires ');
    expect(Date.parse(String(manifestExpiry()))).toBeLessThan(Date.now() + 7 * 86_400_000 + 1000);

    const never = await pack(feed, '1.1.0', join(keys, 'k.key'), ['--expires', 'never']);
    expect(never.code, never.stderr).toBe(0);
    expect(manifestExpiry()).toBeUndefined();
  });
});

describe('keygen, pack, apply', () => {
  it('applies a release signed with the configured key, and refuses one signed with another key, changing nothing', async () => {
    const keys = tempDir('outlast-keys-');
    const publicKey = await keygen(keys, 'trusted');
    await keygen(keys, 'other');
    const feed = tempDir('outlast-feed-');
    for (const version of ['1.0.0', '1.1.0']) {
      const run = await pack(feed, version, join(keys, 'trusted.key'));
      expect(run.code, run.stderr).toBe(0);
    }
    const forged = await pack(feed, '1.2.0', join(keys, 'other.key'));
    expect(forged.code, forged.stderr).toBe(0);
    // The other key signed the manifest as a whole too, which would refuse
    // the feed at its first read; the forger drops that signature, leaving an
    // unsigned manifest (accepted, with a warning) and the forged entry.
    rmSync(join(feed, 'manifest.json.sig'));

    const { cli, port } = await startUpdating({ type: 'dir', path: feed, publicKey });
    expect(await serviceVersion(port)).toBe('1.0.0');
    const res = await apply(cli, { version: '1.1.0' });
    expect(res.status).toBe(202);
    expect((await finalState(cli, res.json.id as string)).state).toBe('committed');
    expect(await serviceVersion(port)).toBe('1.1.0');

    const before = store(cli.stateDir);
    const refused = await apply(cli, { version: '1.2.0' });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ error: { code: 'SIGNATURE_INVALID', details: { version: '1.2.0', reason: 'bad-signature' } } });
    expect(store(cli.stateDir)).toEqual(before);
    expect(before).toMatchObject({ current: 'releases/1.1.0', previous: 'releases/1.0.0' });
    expect(await serviceVersion(port)).toBe('1.1.0');
  });
});
