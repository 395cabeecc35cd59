/**
 * Whether a manifest may be believed as a whole: its detached signatures,
 * and its serial against the highest one accepted (manifest-serial.ts).
 *
 * With a key configured, each key signs the manifest in its own file next
 * to it: `manifest.json.minisig` (minisignKey, `minisign -S -m
 * manifest.json`) and `manifest.json.sig` (publicKey, `outlast release pack
 * --key`). A manifest is signed when every configured key signed it. A
 * signature that is there must verify, or the manifest is refused
 * (SIGNATURE_INVALID). A signed manifest must carry a `serial`, and one
 * lower than the last accepted is refused (MANIFEST_REPLAYED): that is the
 * defence against a feed serving an older edition, which would still pass
 * every release signature in it. A signed `expires` is the defence against
 * the last edition served for ever (a freeze): once it has passed, the
 * manifest is refused (MANIFEST_EXPIRED) until the publisher signs a new one.
 *
 * An unsigned manifest is refused when `requireSignedManifest` is set, and
 * once a signed one was accepted from the same source: an attacker could
 * otherwise strip the signature to get around the serial. Before that it is
 * accepted with one warning, its serial unused, so a feed can start signing
 * without a flag day.
 */
import { createHash } from 'node:crypto';
import { OutlastError } from '../../errors.ts';
import { verifyMinisig } from '../minisign.ts';
import { verifyManifest } from '../signing.ts';
import type { Manifest } from './manifest.ts';
import { parseMinisignKey } from '../minisign.ts';
import { parsePublicKey } from '../signing.ts';
import { acceptedWhen, createManifestSerials, type ManifestSerials } from './manifest-serial.ts';
import type { ReleaseKeys } from './receive.ts';
import { isoTime } from '../../iso-time.ts';

/** How a source trusts its manifest. */
export interface ManifestTrustConfig {
  keys: ReleaseKeys;
  /** updates.source.requireSignedManifest. */
  requireSigned: boolean;
  /** The manifest's URL or the feed folder, as the serial record names it. */
  source: string;
  serials: ManifestSerials;
  /** Told once when an unsigned manifest is accepted although a key is configured. */
  warn?: ((line: string) => void) | undefined;
  /** Wall-clock ms, against a signed `expires`. */
  now: () => number;
}

/** Reads a file next to the manifest (`suffix` appended to its name); undefined when there is none. */
export type ReadBeside = (suffix: '.minisig' | '.sig') => Promise<Buffer | undefined>;

/** The check a source runs on every manifest it reads. */
export type ManifestTrust = (bytes: Buffer, manifest: Manifest, where: string, readBeside: ReadBeside) => Promise<void>;

/** The manifest check for `config`; with no key configured it checks nothing. */
export function createManifestTrust(config: ManifestTrustConfig): ManifestTrust {
  const { keys, serials, source } = config;
  let warned = false;
  return async (bytes, manifest, where, readBeside) => {
    if (keys.publicKey === undefined && keys.minisignKey === undefined) return;
    const what = `manifest at ${where}`;
    const missing: string[] = [];
    if (keys.minisignKey !== undefined) {
      const sig = await readBeside('.minisig');
      if (sig === undefined) missing.push(`${where}.minisig`);
      else verifyMinisig(keys.minisignKey, sig, bytes, what);
    }
    if (keys.publicKey !== undefined) {
      const sig = await readBeside('.sig');
      if (sig === undefined) missing.push(`${where}.sig`);
      else verifyManifest(keys.publicKey, sig.toString('utf8'), bytes, what);
    }
    if (missing.length > 0) {
      const unsigned = (why: string): OutlastError =>
        new OutlastError('SIGNATURE_INVALID', `${what} is not signed (no ${missing.join(', no ')}), ${why}`, { details: { where, reason: 'manifest-unsigned', missing } });
      if (config.requireSigned) throw unsigned('but updates.source.requireSignedManifest is true');
      const last = await serials.last(source);
      if (last !== undefined) {
        const reset = serials.path === undefined ? '' : `; to trust unsigned manifests again, delete ${serials.path}`;
        throw unsigned(`but a signed one (serial ${last.serial}) was accepted from this source ${acceptedWhen(last)}${reset}`);
      }
      if (!warned) {
        warned = true;
        config.warn?.(`${what} is not signed (no ${missing.join(', no ')}): its releases' signatures are checked, but an older manifest could be replayed; sign it, and set updates.source.requireSignedManifest`);
      }
      return;
    }
    if (manifest.serial === undefined) {
      throw new OutlastError('SOURCE_UNAVAILABLE', `invalid ${what}: it is signed but has no "serial"; a signed manifest needs one, raised with every edition`, {
        details: { where, problems: ['serial: missing in a signed manifest'] },
      });
    }
    // Before the serial is recorded: an expired edition is not accepted at all.
    if (manifest.expires !== undefined && Date.parse(manifest.expires) <= config.now()) {
      throw new OutlastError(
        'MANIFEST_EXPIRED',
        `${what} expired at ${manifest.expires} (now ${isoTime(config.now())}): the feed is serving an edition its publisher no longer re-signs (frozen), refusing it; sign a fresh edition with a later "expires"`,
        { details: { where, expires: manifest.expires, serial: manifest.serial } },
      );
    }
    await serials.accept(source, manifest.serial, createHash('sha256').update(bytes).digest('hex'), what);
  };
}

/** The trust keys of an http or dir source's config, as written. */
export interface TrustSettings {
  publicKey?: string | undefined;
  minisignKey?: string | undefined;
  requireSignedManifest?: boolean | undefined;
}

/** What a source is given to remember serials by and to warn through. */
export interface TrustOptions {
  /** The serial record (the state dir's); in memory when missing. */
  serials?: ManifestSerials | undefined;
  warn?: ((line: string) => void) | undefined;
  /** Wall-clock ms, against a signed `expires`: the Host's clock. */
  now: () => number;
}

/** The parsed keys of `settings`, and the manifest check of the source at `source`. */
export function sourceTrust(settings: TrustSettings, source: string, options: TrustOptions): { keys: ReleaseKeys; trust: ManifestTrust } {
  const keys: ReleaseKeys = {
    publicKey: settings.publicKey === undefined ? undefined : parsePublicKey(settings.publicKey),
    minisignKey: settings.minisignKey === undefined ? undefined : parseMinisignKey(settings.minisignKey),
  };
  const trust = createManifestTrust({
    keys,
    requireSigned: settings.requireSignedManifest === true,
    source,
    serials: options.serials ?? createManifestSerials(),
    warn: options.warn,
    now: options.now,
  });
  return { keys, trust };
}
