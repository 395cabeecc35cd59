/**
 * Publisher tooling: pack a project folder into a release tarball, and add
 * it, signed when a key is given, to a feed folder's manifest.json, which the
 * dir source reads as it is and the http source once it is served. Every
 * manifest it writes gets the next `serial`; with a key, the manifest is
 * signed as a whole too (`manifest.json.sig`).
 *
 * Every file it reads or writes for itself goes through the Host's file
 * capability ({@link PackFs}); node-tar reads the project's files while it
 * packs them, and the tarball it produces is written through the Host.
 */
import { createHash, randomBytes } from 'node:crypto';
import { basename, join, relative, resolve, sep } from 'node:path';
import { semver } from './semver.ts';
import { create } from 'tar';
import { OutlastError } from '../errors.ts';
import type { HostFs } from '../host/host.ts';
import { signEntry, signManifest } from './signing.ts';
import { parseManifest, type Manifest, type ManifestEntry } from './sources/manifest.ts';

/** What to pack. */
export interface PackOptions {
  /** The project folder. */
  dir: string;
  /** A semver version; `v1.2.3` is written as `1.2.3`. */
  version: string;
  /** A feed folder whose manifest.json gets the entry. */
  feed?: string | undefined;
  /** A PEM ed25519 private key to sign the entry with. */
  keyPath?: string | undefined;
  /** Where the tarball goes; defaults to the feed. */
  out?: string | undefined;
  /** Replace a version already in the feed, and a tarball already there. */
  force?: boolean | undefined;
  /** The tarball's name; defaults to package.json's name, else the folder's. */
  name?: string | undefined;
  /**
   * The new edition's `expires` (an ISO time), or `never` to leave it out.
   * Required when the manifest has one: an edition must not lose its expiry
   * by a forgotten flag.
   */
  expires?: string | undefined;
}

/** What was packed. */
export interface PackResult {
  tarball: string;
  entry: ManifestEntry;
  /** The manifest written, when a feed was given. */
  manifest?: string;
  /** Its serial: one more than the manifest had. */
  serial?: number;
  /** Its `expires`, when it has one. */
  expires?: string;
  /** The `manifest.json.sig` written, when a key was given. */
  manifestSignature?: string;
  /** A `manifest.json.minisig` that no longer matches the manifest: minisign must sign it again. */
  staleMinisig?: string;
}

/** What packing needs of the Host's file system. */
export type PackFs = Pick<HostFs, 'readFile' | 'exists' | 'readdir' | 'mkdir' | 'rename' | 'rm' | 'openRead' | 'createFile' | 'writeFileAtomic'>;

/** Never packed, at any depth. */
const EXCLUDED = new Set(['.git', 'node_modules', '.outlast']);

/**
 * The folder every file is packed under. extract.ts strips a single
 * top-level folder, so wrapping everything in one keeps a project that is
 * itself a single folder from losing it.
 */
const WRAPPER = 'package';

/** Whether `path` is a folder (or a link to one): readdir fails on anything else, and finds nothing where nothing is. */
async function isFolder(fs: PackFs, path: string): Promise<boolean> {
  return fs.readdir(path).then(() => fs.exists(path), () => false);
}

async function projectName(fs: PackFs, dir: string, given: string | undefined): Promise<string> {
  let name = given;
  if (name === undefined) {
    const pkg = await fs.readFile(join(dir, 'package.json')).then((text) => JSON.parse(text) as { name?: unknown }, () => ({ name: undefined }));
    name = typeof pkg.name === 'string' ? pkg.name : basename(dir);
  }
  return name.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
}

async function digest(fs: PackFs, file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.openRead(file)) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A feed's manifest; an empty one when the file is missing. */
export async function readFeed(fs: PackFs, manifestPath: string): Promise<Manifest> {
  if (!(await fs.exists(manifestPath))) return { versions: [] };
  return parseManifest(await fs.readFile(manifestPath), manifestPath);
}

/** Reads a signing key early, so a wrong path fails before any packing. */
export async function readKey(fs: PackFs, path: string): Promise<string> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new OutlastError('BAD_REQUEST', `cannot read the signing key ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Packs the entries of `dir` under WRAPPER into the new file `tmp`, skipping `skip` paths. */
async function writeTarball(fs: PackFs, dir: string, tmp: string, skip: readonly string[]): Promise<void> {
  const keep = (path: string): boolean =>
    !path.split('/').some((part) => EXCLUDED.has(part)) && !skip.some((s) => resolve(dir, path) === s || resolve(dir, path).startsWith(s + sep));
  const top = (await fs.readdir(dir)).filter((name) => keep(name));
  if (top.length === 0) throw new OutlastError('BAD_REQUEST', `${dir} has nothing to pack`);
  const file = await fs.createFile(tmp, 0o666);
  try {
    for await (const chunk of create({ gzip: true, cwd: dir, prefix: WRAPPER, portable: true, filter: keep }, top) as AsyncIterable<Buffer>) await file.write(chunk);
  } finally {
    await file.close();
  }
}

/**
 * Packs `dir` as `<name>-<version>.tgz`, excluding .git, node_modules and
 * .outlast, and adds it to FEED/manifest.json. Refuses an invalid version
 * (BAD_REQUEST), and a version already in the feed or a tarball already
 * there (CONFLICT) unless `force`.
 */
export async function packRelease(fs: PackFs, options: PackOptions): Promise<PackResult> {
  const version = semver.valid(options.version);
  if (version === null) throw new OutlastError('BAD_REQUEST', `"${options.version}" is not a semver version (such as 1.2.3)`);
  const dir = resolve(options.dir);
  if (!(await isFolder(fs, dir))) throw new OutlastError('BAD_REQUEST', `${dir} is not a folder`);
  const outArg = options.out ?? options.feed;
  if (outArg === undefined) throw new OutlastError('BAD_REQUEST', 'say where the tarball goes: give out or feed');
  const out = resolve(outArg);
  const feed = options.feed === undefined ? undefined : resolve(options.feed);
  const force = options.force === true;
  const tarball = join(out, `${await projectName(fs, dir, options.name)}-${version}.tgz`);
  const privateKeyPem = options.keyPath === undefined ? undefined : await readKey(fs, options.keyPath);

  // Checked before anything is written: a published tarball must never be
  // replaced under a manifest entry that pins its old digest.
  const manifestPath = feed === undefined ? undefined : join(feed, 'manifest.json');
  const manifest = manifestPath === undefined ? undefined : await readFeed(fs, manifestPath);
  if (manifest?.versions.some((e) => e.version === version) === true && !force) {
    throw new OutlastError('CONFLICT', `version ${version} is already in ${manifestPath}; use --force to replace it`, { details: { version } });
  }
  if ((await fs.exists(tarball)) && !force) throw new OutlastError('CONFLICT', `${tarball} already exists; use --force to replace it`);
  const expires = manifestPath === undefined || manifest === undefined ? undefined : nextExpiry(manifestPath, manifest, options.expires);

  await fs.mkdir(out);
  if (feed !== undefined) await fs.mkdir(feed);
  const tmp = join(out, `.${basename(tarball)}.${randomBytes(4).toString('hex')}.tmp`);
  let entry: ManifestEntry;
  try {
    // The output and the feed may live inside the project: never pack them.
    const skip = [tmp, tarball, ...[feed, out].filter((p): p is string => p?.startsWith(dir + sep) === true)];
    await writeTarball(fs, dir, tmp, skip);
    const { sha256, size } = await digest(fs, tmp);
    const url = relative(feed ?? out, tarball).split(sep).join('/');
    entry = { version, url, sha256, size };
    if (privateKeyPem !== undefined) entry.signature = signEntry(privateKeyPem, entry);
    await fs.rename(tmp, tarball);
  } finally {
    await fs.rm(tmp);
  }
  if (manifestPath === undefined || manifest === undefined) return { tarball, entry };

  // The tarball is in place before the manifest names it, so a reader never
  // finds an entry whose file is missing.
  const at = manifest.versions.findIndex((e) => e.version === version);
  const versions = at === -1 ? [...manifest.versions, entry] : manifest.versions.with(at, entry);
  // The old expiry goes: the new edition has its own, or none (checked above).
  const next: Manifest = { ...manifest, versions };
  delete next.expires;
  if (expires !== undefined) next.expires = expires;
  const edition = await writeEdition(fs, manifestPath, next, privateKeyPem);
  return { tarball, entry, manifest: manifestPath, ...edition };
}

/**
 * The `expires` of a manifest's next edition: `given` (an ISO time), none
 * for `never`. An edition never inherits an expiry: the old one may be
 * near or past, and a publisher who set one must choose again, so a
 * manifest with `expires` and no `given` is BAD_REQUEST.
 */
export function nextExpiry(manifestPath: string, manifest: Manifest, given: string | undefined): string | undefined {
  if (manifest.expires !== undefined && given === undefined) {
    throw new OutlastError('BAD_REQUEST', `${manifestPath} has "expires" (${manifest.expires}): give --expires DURATION for the new edition, or --expires never to drop it`, { details: { expires: manifest.expires } });
  }
  return given === 'never' ? undefined : given;
}

/** A manifest edition written: its serial, and the signatures that now do or do not match it. */
export interface Edition {
  serial: number;
  /** Its `expires`, when it has one. */
  expires?: string;
  /** The `manifest.json.sig` written, when a key was given. */
  manifestSignature?: string;
  /** A `manifest.json.minisig` that no longer matches the manifest: minisign must sign it again. */
  staleMinisig?: string;
}

/**
 * Writes `manifest` as the next edition at `manifestPath`: the next serial,
 * and with a key its signature as a whole (`manifest.json.sig`).
 */
export async function writeEdition(fs: PackFs, manifestPath: string, manifest: Manifest, privateKeyPem: string | undefined): Promise<Edition> {
  // Every edition gets the next serial, so supervisors that saw this one
  // refuse the older ones once the manifest is signed.
  const { serial: previous, ...rest } = manifest;
  const serial = (previous ?? 0) + 1;
  const text = `${JSON.stringify({ serial, ...rest }, null, 2)}\n`;
  await fs.writeFileAtomic(manifestPath, text, 0o644);
  // Written right after the manifest: a reader in between finds the old
  // signature over the new bytes and refuses that one read, never more.
  // Without a key the old signature can only be wrong from now on.
  const signaturePath = `${manifestPath}.sig`;
  if (privateKeyPem === undefined) await fs.rm(signaturePath);
  else await fs.writeFileAtomic(signaturePath, signManifest(privateKeyPem, Buffer.from(text, 'utf8')), 0o644);
  const minisig = `${manifestPath}.minisig`;
  return {
    serial,
    ...(rest.expires === undefined ? {} : { expires: rest.expires }),
    ...(privateKeyPem === undefined ? {} : { manifestSignature: signaturePath }),
    ...((await fs.exists(minisig)) ? { staleMinisig: minisig } : {}),
  };
}
