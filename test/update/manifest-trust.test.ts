/**
 * The manifest check and the serial record, over the fake Host's file
 * system: which manifests are believed, which are refused as replays, and
 * what is written to the state dir.
 */
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { generateKeyPair, signManifest } from '../../supervisor/update/signing.ts';
import type { Manifest } from '../../supervisor/update/sources/manifest.ts';
import { createManifestSerials, type ManifestSerials } from '../../supervisor/update/sources/manifest-serial.ts';
import { sourceTrust, type ReadBeside } from '../../supervisor/update/sources/manifest-trust.ts';
import { createFakeHost, type FakeHost } from '../support/fake-host.ts';

const RECORD = '/state/manifest-serial.json';
const SOURCE = 'https://feed.example/manifest.json';

function serialsOn(host: FakeHost): ManifestSerials {
  return createManifestSerials({ fs: host.fs, path: RECORD, now: () => host.clock.now() });
}

/** A manifest edition: its bytes and what they parse to. */
function edition(serial: number | undefined, note = ''): { bytes: Buffer; manifest: Manifest } {
  const manifest: Manifest = { ...(serial === undefined ? {} : { serial }), versions: [] };
  return { bytes: Buffer.from(JSON.stringify({ ...manifest, note })), manifest };
}

/** The files next to the manifest, recording which were asked for. */
function beside(files: { sig?: string; minisig?: string }): ReadBeside & { asked: string[] } {
  const asked: string[] = [];
  const read = async (suffix: '.minisig' | '.sig'): Promise<Buffer | undefined> => {
    asked.push(suffix);
    const text = suffix === '.sig' ? files.sig : files.minisig;
    return text === undefined ? undefined : Buffer.from(text);
  };
  return Object.assign(read, { asked });
}

async function failure(promise: Promise<unknown>): Promise<OutlastError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof OutlastError)) throw new Error(`expected an OutlastError, got ${String(err)}`);
  return err;
}

describe('manifest trust', () => {
  const keys = generateKeyPair();
  const signed = (e: { bytes: Buffer }): ReadBeside & { asked: string[] } => beside({ sig: signManifest(keys.privateKeyPem, e.bytes) });

  it('checks nothing, and reads no signature, with no key configured', async () => {
    const host = createFakeHost();
    const { trust } = sourceTrust({}, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const files = beside({ sig: 'garbage' });
    const e = edition(1);
    await trust(e.bytes, e.manifest, SOURCE, files);
    expect(files.asked).toEqual([]);
    expect(host.files.has(RECORD)).toBe(false);
  });

  it('records the serial of a signed manifest, and refuses a lower one or the same one with other content', async () => {
    const host = createFakeHost();
    const { trust } = sourceTrust({ publicKey: keys.publicKeyBase64 }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const seven = edition(7);
    await trust(seven.bytes, seven.manifest, SOURCE, signed(seven));
    const record = JSON.parse(host.files.get(RECORD)!.data) as Record<string, unknown>;
    expect(record).toMatchObject({ source: SOURCE, serial: 7, acceptedAt: new Date(host.clock.now()).toISOString() });

    // The same edition again (every check reads it): fine, nothing rewritten.
    await host.advance(1000);
    await trust(seven.bytes, seven.manifest, SOURCE, signed(seven));
    expect(JSON.parse(host.files.get(RECORD)!.data)).toEqual(record);

    const six = edition(6);
    const older = await failure(trust(six.bytes, six.manifest, SOURCE, signed(six)));
    expect(older).toMatchObject({ code: 'MANIFEST_REPLAYED', details: { serial: 6, accepted: 7, reason: 'older' } });
    expect([older.httpStatus, older.exitCode]).toEqual([409, 65]);
    expect(older.message).toMatch(/has serial 6, lower than serial 7 accepted at .*replayed/);

    const changed = edition(7, 'edited');
    expect(await failure(trust(changed.bytes, changed.manifest, SOURCE, signed(changed)))).toMatchObject({ code: 'MANIFEST_REPLAYED', details: { reason: 'serial-reused' } });
    expect(JSON.parse(host.files.get(RECORD)!.data)).toEqual(record);

    const eight = edition(8);
    await trust(eight.bytes, eight.manifest, SOURCE, signed(eight));
    expect(JSON.parse(host.files.get(RECORD)!.data)).toMatchObject({ serial: 8 });
  });

  it('refuses a signed manifest once its expires has passed, recording nothing', async () => {
    const host = createFakeHost();
    const { trust } = sourceTrust({ publicKey: keys.publicKeyBase64 }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const expires = new Date(host.clock.now() + 60_000).toISOString();
    const manifest: Manifest = { serial: 3, expires, versions: [] };
    const bytes = Buffer.from(JSON.stringify(manifest));
    await trust(bytes, manifest, SOURCE, signed({ bytes }));
    expect(JSON.parse(host.files.get(RECORD)!.data)).toMatchObject({ serial: 3 });

    // The same edition, still served after its expiry: a frozen feed.
    await host.advance(60_000);
    const err = await failure(trust(bytes, manifest, SOURCE, signed({ bytes })));
    expect(err).toMatchObject({ code: 'MANIFEST_EXPIRED', details: { expires, serial: 3 } });
    expect([err.httpStatus, err.exitCode]).toEqual([409, 65]);
    expect(err.message).toContain(`expired at ${expires}`);

    // A first sight of an expired edition is not recorded either.
    const fresh = createFakeHost();
    const other = sourceTrust({ publicKey: keys.publicKeyBase64 }, SOURCE, { serials: serialsOn(fresh), now: () => fresh.clock.now() + 120_000 });
    expect(await failure(other.trust(bytes, manifest, SOURCE, signed({ bytes })))).toMatchObject({ code: 'MANIFEST_EXPIRED' });
    expect(fresh.files.has(RECORD)).toBe(false);
  });

  it('refuses a bad signature and a signed manifest without a serial', async () => {
    const host = createFakeHost();
    const { trust } = sourceTrust({ publicKey: keys.publicKeyBase64 }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const e = edition(1);
    const other = generateKeyPair();
    expect(await failure(trust(e.bytes, e.manifest, SOURCE, beside({ sig: signManifest(other.privateKeyPem, e.bytes) })))).toMatchObject({
      code: 'SIGNATURE_INVALID',
      details: { reason: 'bad-signature' },
    });
    expect(await failure(trust(e.bytes, e.manifest, SOURCE, beside({ sig: 'not base64 at all' })))).toMatchObject({ code: 'SIGNATURE_INVALID' });
    const bare = edition(undefined);
    expect(await failure(trust(bare.bytes, bare.manifest, SOURCE, signed(bare)))).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    expect(host.files.has(RECORD)).toBe(false);
  });

  it('accepts an unsigned manifest with one warning until a signed one was accepted, then refuses it', async () => {
    const host = createFakeHost();
    const warnings: string[] = [];
    const { trust } = sourceTrust({ publicKey: keys.publicKeyBase64 }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now(), warn: (line) => warnings.push(line) });
    const unsigned = edition(99);
    await trust(unsigned.bytes, unsigned.manifest, SOURCE, beside({}));
    await trust(unsigned.bytes, unsigned.manifest, SOURCE, beside({}));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`no ${SOURCE}.sig`);
    // An unsigned serial proves nothing: it is not recorded.
    expect(host.files.has(RECORD)).toBe(false);

    const first = edition(1);
    await trust(first.bytes, first.manifest, SOURCE, signed(first));
    const after = await failure(trust(unsigned.bytes, unsigned.manifest, SOURCE, beside({})));
    expect(after).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'manifest-unsigned' } });
    expect(after.message).toContain(`a signed one (serial 1) was accepted from this source`);
    expect(after.message).toContain(`delete ${RECORD}`);
  });

  it('refuses an unsigned manifest outright with requireSignedManifest, and wants every configured key', async () => {
    const host = createFakeHost();
    const e = edition(1);
    const { trust } = sourceTrust({ publicKey: keys.publicKeyBase64, requireSignedManifest: true }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const err = await failure(trust(e.bytes, e.manifest, SOURCE, beside({})));
    expect(err).toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'manifest-unsigned', missing: [`${SOURCE}.sig`] } });
    expect(err.message).toContain('requireSignedManifest is true');

    const minisignKey = 'RWRB1a7rSth41+M5rOUf2Mynrk25XrX5/0/xa9B/eoGpPnqm8yZgqbbe';
    const both = sourceTrust({ publicKey: keys.publicKeyBase64, minisignKey, requireSignedManifest: true }, SOURCE, { serials: serialsOn(host), now: () => host.clock.now() });
    const files = signed(e);
    expect(await failure(both.trust(e.bytes, e.manifest, SOURCE, files))).toMatchObject({ details: { reason: 'manifest-unsigned', missing: [`${SOURCE}.minisig`] } });
    expect(files.asked).toEqual(['.minisig', '.sig']);
  });

  it('keeps one record per source: another source starts afresh', async () => {
    const host = createFakeHost();
    const serials = serialsOn(host);
    await serials.accept(SOURCE, 5, 'a', 'm');
    await serials.accept('/srv/other-feed', 1, 'b', 'm');
    expect(await serials.last(SOURCE)).toBeUndefined();
    expect(await serials.last('/srv/other-feed')).toMatchObject({ serial: 1 });
  });

  it('never lets a lower serial be written last when two reads race', async () => {
    const host = createFakeHost();
    const serials = serialsOn(host);
    const [high, low] = await Promise.allSettled([serials.accept(SOURCE, 5, 'five', 'm'), serials.accept(SOURCE, 3, 'three', 'm')]);
    expect(high.status).toBe('fulfilled');
    expect(low).toMatchObject({ status: 'rejected', reason: { code: 'MANIFEST_REPLAYED' } });
    await Promise.all([serials.accept(SOURCE, 6, 'six', 'm'), serials.accept(SOURCE, 9, 'nine', 'm')]);
    expect(await serials.last(SOURCE)).toMatchObject({ serial: 9 });
  });

  it('refuses a record it cannot read rather than forgetting it, and keeps one in memory without a state dir', async () => {
    const host = createFakeHost();
    host.files.set(RECORD, { data: '{"serial": "many"}', mode: 0o644 });
    expect(await failure(serialsOn(host).last(SOURCE))).toMatchObject({ code: 'STATE_DIR_UNUSABLE', details: { path: RECORD } });

    const memory = createManifestSerials();
    await memory.accept(SOURCE, 4, 'x', 'm');
    const err = await failure(memory.accept(SOURCE, 2, 'y', 'manifest at m'));
    expect(err.message).toContain('accepted in this run');
    expect(memory.path).toBeUndefined();
  });
});
