/**
 * Staged rollout: the bucket formula an operator can compute by hand, its
 * monotonicity in the percent, the manifest's validation of a rollout, the
 * selection that holds a device out, and the device id kept in the state dir.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setFeedRollout } from '../../supervisor/update/feed-rollout.ts';
import { DeviceIdentity, heldBack, rolloutBucket, rolloutVerdict } from '../../supervisor/update/rollout.ts';
import { selectVersion } from '../../supervisor/update/selection.ts';
import { manifestReleases, parseManifest } from '../../supervisor/update/sources/manifest.ts';
import { createFakeHost } from '../support/fake-host.ts';
import { refusal } from '../support/refusal.ts';

const SHA = 'a'.repeat(64);
const entry = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ version, url: `app-${version}.tgz`, sha256: SHA, size: 1, ...extra });

describe('rolloutBucket', () => {
  it('is the first 4 bytes of sha256(salt:id), big-endian, mod 100', () => {
    // Worked by hand, the way docs/updates.md tells an operator to.
    const digest = createHash('sha256').update('2026-12:device-7').digest();
    const expected = ((digest[0]! * 2 ** 24 + digest[1]! * 2 ** 16 + digest[2]! * 2 ** 8 + digest[3]!) >>> 0) % 100;
    expect(rolloutBucket('2026-12', 'device-7')).toBe(expected);
    expect(rolloutVerdict('1.2.0', { percent: expected + 1, salt: '2026-12' }, 'device-7')).toMatchObject({ included: true, bucket: expected });
    expect(rolloutVerdict('1.2.0', { percent: expected, salt: '2026-12' }, 'device-7')).toMatchObject({ included: false, bucket: expected });
  });

  it('only adds devices as the percent rises, spreads them evenly, and reshuffles with a new salt', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `dev-${i}`);
    let before = new Set<string>();
    const lost: string[] = [];
    const sizes: number[] = [];
    for (let percent = 0; percent <= 100; percent++) {
      const inNow = new Set(ids.filter((id) => rolloutVerdict('1.0.0', { percent, salt: 's1' }, id).included));
      for (const id of before) if (!inNow.has(id)) lost.push(`${id} at ${percent}%`);
      sizes.push(inNow.size);
      before = inNow;
    }
    expect(lost).toEqual([]);
    expect(sizes[0]).toBe(0);
    expect(Math.abs(sizes[50]! - 1000)).toBeLessThan(120);
    expect(sizes[100]).toBe(ids.length);
    const tenA = ids.filter((id) => rolloutBucket('s1', id) < 10);
    const tenB = ids.filter((id) => rolloutBucket('s2', id) < 10);
    expect(tenA).not.toEqual(tenB);
  });
});

describe('a manifest rollout', () => {
  it('is kept on the release entry', () => {
    const manifest = parseManifest(JSON.stringify({ versions: [entry('1.0.0'), entry('1.1.0', { rollout: { percent: 10, salt: '2026-12' } })] }), 'feed');
    expect(manifestReleases(manifest).map((e) => e.rollout)).toEqual([undefined, { percent: 10, salt: '2026-12' }]);
  });

  it.each([
    [{ percent: 150, salt: 'x' }, 'rollout.percent'],
    [{ percent: -1, salt: 'x' }, 'rollout.percent'],
    [{ percent: 12.5, salt: 'x' }, 'rollout.percent'],
    [{ percent: '10', salt: 'x' }, 'rollout.percent'],
    [{ percent: 10, salt: '' }, 'rollout.salt'],
    [{ percent: 10 }, 'rollout.salt'],
    ['ten', 'rollout'],
  ])('refuses %j naming the version and the field', (rollout, field) => {
    const err = refusal(() => parseManifest(JSON.stringify({ versions: [entry('1.0.0'), entry('1.2.0', { rollout })] }), 'feed'));
    expect(err.code).toBe('SOURCE_UNAVAILABLE');
    expect(err.message).toContain('version 1.2.0: ');
    expect(err.message).toContain(`"versions[1].${field}"`);
  });
});

describe('selection under a rollout', () => {
  const policy = { range: '*', prerelease: false };
  const offered = ['1.0.0', '1.1.0', '1.2.0'];
  const held = new Map([['1.2.0', rolloutVerdict('1.2.0', { percent: 0, salt: 's' }, 'me')]]);

  it('passes over a version this device is not in, for the automatic choice', () => {
    expect(selectVersion(offered, '1.0.0', {}, policy, new Map(), held)).toEqual({ kind: 'install', version: '1.1.0' });
    expect(selectVersion(offered, '1.1.0', {}, policy, new Map(), held)).toEqual({ kind: 'up-to-date', version: '1.1.0' });
  });

  it('lets force and a named version through, and holds the scheduled updater', () => {
    expect(selectVersion(offered, '1.1.0', { force: true }, policy, new Map(), held)).toEqual({ kind: 'install', version: '1.2.0' });
    expect(selectVersion(offered, '1.1.0', { version: '1.2.0' }, policy, new Map(), held)).toEqual({ kind: 'install', version: '1.2.0' });
    const err = refusal(() => selectVersion(offered, '1.1.0', { version: '1.2.0', rollout: true }, policy, new Map(), held));
    expect(err.code).toBe('NOT_IN_ROLLOUT');
    expect(err.details).toMatchObject({ version: '1.2.0', percent: 0, device: 'me' });
  });
});

describe('the device id', () => {
  it('is generated once into the state dir, 0600, and kept', async () => {
    const host = createFakeHost();
    let minted = 0;
    const device = new DeviceIdentity(host.fs, '/state', undefined, () => `dev-${++minted}`);
    expect(await device.id()).toBe('dev-1');
    expect(host.files.get('/state/device-id')).toEqual({ data: 'dev-1\n', mode: 0o600 });
    expect(await new DeviceIdentity(host.fs, '/state', undefined, () => `dev-${++minted}`).id()).toBe('dev-1');
    expect(minted).toBe(1);
  });

  it('is the configured one when set, and is asked for only when a version has a rollout', async () => {
    const host = createFakeHost();
    const device = new DeviceIdentity(host.fs, '/state', 'kitchen-pi', () => 'never');
    expect(await device.id()).toBe('kitchen-pi');
    const fresh = new DeviceIdentity(host.fs, '/other', undefined, () => 'minted');
    expect((await heldBack(fresh, [{ version: '1.0.0' }])).size).toBe(0);
    expect(host.files.has('/other/device-id')).toBe(false);
  });

  it('refuses a file that does not hold an id', async () => {
    const host = createFakeHost();
    host.files.set('/state/device-id', { data: 'two words\n', mode: 0o600 });
    await expect(new DeviceIdentity(host.fs, '/state', undefined, () => 'x').id()).rejects.toMatchObject({ code: 'STATE_DIR_UNUSABLE' });
  });
});

describe('outlast release rollout (setFeedRollout)', () => {
  const feedWith = (host: ReturnType<typeof createFakeHost>, versions: Array<Record<string, unknown>>): void => {
    host.files.set('/feed/manifest.json', { data: JSON.stringify({ serial: 4, versions }), mode: 0o644 });
    host.files.set('/feed/manifest.json.sig', { data: 'old', mode: 0o644 });
  };

  it('writes the next edition with the rollout, keeping the salt it had, else the version', async () => {
    const host = createFakeHost();
    feedWith(host, [entry('1.0.0'), entry('1.1.0', { rollout: { percent: 10, salt: 'wave-1' }, note: 'kept' })]);
    const raised = await setFeedRollout(host.fs, { feed: '/feed', version: '1.1.0', percent: 50 });
    expect(raised).toMatchObject({ serial: 5, version: '1.1.0', rollout: { percent: 50, salt: 'wave-1' } });
    const manifest = parseManifest(host.files.get('/feed/manifest.json')!.data, 'feed');
    expect(manifest.serial).toBe(5);
    expect(manifest.versions[1]).toMatchObject({ rollout: { percent: 50, salt: 'wave-1' }, note: 'kept' });
    // The old whole-manifest signature no longer matches: it goes.
    expect(host.files.has('/feed/manifest.json.sig')).toBe(false);
    expect((await setFeedRollout(host.fs, { feed: '/feed', version: 'v1.0.0', percent: 5 })).rollout).toEqual({ percent: 5, salt: '1.0.0' });
  });

  it('refuses a version not in the feed and a bad percent or salt', async () => {
    const host = createFakeHost();
    feedWith(host, [entry('1.0.0')]);
    await expect(setFeedRollout(host.fs, { feed: '/feed', version: '2.0.0', percent: 5 })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    await expect(setFeedRollout(host.fs, { feed: '/feed', version: '1.0.0', percent: 101 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('--percent') as string });
    await expect(setFeedRollout(host.fs, { feed: '/feed', version: '1.0.0', percent: Number.NaN })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(setFeedRollout(host.fs, { feed: '/feed', version: '1.0.0', percent: 5, salt: '' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('--salt') as string });
    expect(parseManifest(host.files.get('/feed/manifest.json')!.data, 'feed').serial).toBe(4);
  });
});
