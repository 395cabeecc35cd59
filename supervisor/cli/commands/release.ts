/**
 * Publisher tooling: `outlast keygen` makes the ed25519 key pair that signs
 * releases, `outlast release pack` turns a project folder into a tarball and
 * a (signed) manifest entry of a feed that the dir and http sources read,
 * raising the manifest's serial and, with a key, signing it as a whole;
 * `outlast release rollout` sets a version's staged rollout in it, and
 * `outlast release serve` serves such a feed over HTTP.
 */
import { createPrivateKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.ts';
import { OutlastError } from '../../errors.ts';
import type { Host } from '../../host/host.ts';
import { packRelease, type PackResult } from '../../update/pack.ts';
import { generateKeyPair } from '../../update/signing.ts';
import { output, type CliContext } from '../context.ts';
import { isoTime } from '../../iso-time.ts';

interface KeygenFlags {
  out: string;
  name: string;
  force?: boolean;
  json?: boolean;
}

interface PackFlags {
  version: string;
  key?: string;
  feed?: string;
  out?: string;
  name?: string;
  force?: boolean;
  expires?: string;
  json?: boolean;
}

/** `--expires` as the manifest's ISO time from `now`, `never`, or undefined when not given. */
function expiryOf(flag: string | undefined, now: number): string | undefined {
  if (flag === undefined || flag.trim() === 'never') return flag?.trim();
  const parsed = /^\s*\d+\s*$/.test(flag) ? { error: 'needs a unit, such as "30d" or "12h"' } : parseDuration(flag);
  if ('error' in parsed || parsed.ms === 0) {
    throw new OutlastError('BAD_REQUEST', `--expires "${flag}" ${'error' in parsed ? parsed.error : 'must be longer than 0'}, or "never"`);
  }
  return isoTime(now + parsed.ms);
}

/** A key pair's base name: a plain file name, so `--name ../x` cannot write elsewhere. */
const KEY_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Wraps a file-system failure into an error that names the path and what was being done. */
function fsFailure(err: unknown, what: string): OutlastError {
  return new OutlastError('BAD_REQUEST', `${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * Writes the key pair, private key first and 0600 from the moment it exists
 * (writeFileAtomic creates the temp file with the mode). An existing key is
 * only replaced with `force`: a lost private key orphans every supervisor
 * configured with its public half.
 */
async function keygen(host: Host, flags: KeygenFlags): Promise<{ privateKey: string; publicKey: string; publicKeyBase64: string }> {
  if (!KEY_NAME.test(flags.name)) {
    throw new OutlastError('BAD_REQUEST', `--name "${flags.name}" must be a plain file name (letters, digits, ".", "_", "-"), not a path`);
  }
  const dir = resolve(host.cwd, flags.out);
  const privateKey = join(dir, `${flags.name}.key`);
  const publicKey = join(dir, `${flags.name}.pub`);
  if (flags.force !== true) {
    for (const path of [privateKey, publicKey]) {
      if (await host.fs.exists(path)) {
        throw new OutlastError('CONFLICT', `${path} already exists; use --force to replace it (releases signed with the old key will no longer verify against the new public key)`, {
          details: { path },
        });
      }
    }
  }
  const keys = generateKeyPair();
  await host.fs.mkdir(dir, 0o700).catch((err: unknown) => {
    throw fsFailure(err, `cannot create --out ${dir}`);
  });
  await host.fs.writeFileAtomic(privateKey, keys.privateKeyPem, 0o600).catch((err: unknown) => {
    throw fsFailure(err, `cannot write ${privateKey}`);
  });
  await host.fs.writeFileAtomic(publicKey, keys.publicKeyPem, 0o644).catch((err: unknown) => {
    throw fsFailure(err, `cannot write ${publicKey}`);
  });
  return { privateKey, publicKey, publicKeyBase64: keys.publicKeyBase64 };
}

/**
 * Checks `--key` before anything is packed, with messages about the flag:
 * the usual mistakes are a wrong path and the `.pub` half of the pair.
 */
async function checkSigningKey(host: Host, path: string): Promise<void> {
  let pem: string;
  try {
    pem = await host.fs.readFile(path);
  } catch (err) {
    throw fsFailure(err, `cannot read --key ${path}`);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch (err) {
    const hint = pem.includes('PUBLIC KEY') ? ': it is a public key; sign with the .key file that outlast keygen wrote next to it' : '';
    throw new OutlastError('BAD_REQUEST', `--key ${path} is not a PEM private key${hint}`, { cause: err });
  }
  if (type !== 'ed25519') throw new OutlastError('BAD_REQUEST', `--key ${path} is a ${type ?? 'unknown'} key; release keys are ed25519 (make one with outlast keygen)`);
}

function formatPack(result: PackResult, keyPath: string | undefined): string {
  const { entry } = result;
  const lines = [
    `packed ${entry.version}`,
    `  tarball   ${result.tarball}`,
    `  size      ${entry.size} bytes (${(entry.size / 1048576).toFixed(2)} MiB)`,
    `  sha256    ${entry.sha256}`,
    `  signed    ${keyPath === undefined ? 'no (supervisors configured with a publicKey will refuse it)' : `yes, with ${keyPath}`}`,
    result.manifest === undefined ? '  manifest  none (give --feed to add the entry to a feed)' : `  manifest  ${result.manifest} (entry "${entry.url}", serial ${result.serial ?? '?'})`,
  ];
  if (result.manifestSignature !== undefined) lines.push(`            signed as a whole in ${result.manifestSignature}`);
  if (result.expires !== undefined) lines.push(`  expires   ${result.expires} (pack or sign a new edition before then, or supervisors refuse the feed)`);
  if (result.staleMinisig !== undefined) lines.push(`  note      ${result.staleMinisig} no longer matches the manifest: sign it again with minisign -S -m ${result.manifest ?? ''}`);
  return `${lines.join('\n')}\n`;
}

/** Registers `outlast keygen` and `outlast release pack|rollout|serve`. */
export function registerRelease(program: Command, ctx: CliContext): void {
  program
    .command('keygen')
    .description('write an ed25519 key pair for signing releases, and print the public key for the config')
    .option('--out <dir>', 'where the key files go', '.')
    .option('--name <name>', 'base name of the files: NAME.key (private) and NAME.pub (public)', 'outlast-release')
    .option('--force', 'replace an existing key pair')
    .option('--json', 'print {privateKey, publicKey, publicKeyBase64} as JSON')
    .action(async (flags: KeygenFlags) => {
      const result = await keygen(ctx.host, flags);
      const text = [
        `wrote ${result.privateKey} (private, mode 0600: keep it secret; sign with: outlast release pack DIR --version V --key ${result.privateKey})`,
        `wrote ${result.publicKey}`,
        'public key for the config, as updates.source.publicKey:',
        result.publicKeyBase64,
        '',
      ].join('\n');
      output(ctx, flags.json, result, text);
    });

  const release = program.command('release').description('publisher tooling for update feeds');
  release
    .command('pack')
    .description("pack a project folder into a release tarball and add it, signed with --key, to a feed's manifest.json")
    .argument('<dir>', 'the project folder (.git, node_modules and .outlast are left out)')
    .requiredOption('--version <version>', 'the semver version of the release, such as 1.2.3')
    .option('--key <file>', 'PEM ed25519 private key to sign the manifest entry and the manifest (manifest.json.sig) with (from outlast keygen)')
    .option('--feed <dir>', 'feed folder whose manifest.json gets the entry (created when missing)')
    .option('--out <dir>', 'where the tarball goes (default: the feed)')
    .option('--name <name>', "the tarball's base name (default: package.json's name, else the folder's)")
    .option('--force', 'replace a version already in the feed, or a tarball already there')
    .option('--expires <duration>', 'the signed manifest stops being believed after this long, such as "30d" (a frozen feed is then refused), or "never"')
    .option('--json', 'print {tarball, manifest, entry, signed} as JSON')
    .action(async (dir: string, flags: PackFlags) => {
      const { host } = ctx;
      if (flags.feed === undefined && flags.out === undefined) {
        throw new OutlastError('BAD_REQUEST', 'outlast release pack needs --feed FEED (tarball plus manifest entry) or --out DIR (tarball only)');
      }
      const keyPath = flags.key === undefined ? undefined : resolve(host.cwd, flags.key);
      if (keyPath !== undefined) await checkSigningKey(host, keyPath);
      const at = (path: string | undefined): string | undefined => (path === undefined ? undefined : resolve(host.cwd, path));
      const result = await packRelease(host.fs, {
        dir: resolve(host.cwd, dir),
        version: flags.version,
        keyPath,
        feed: at(flags.feed),
        out: at(flags.out),
        name: flags.name,
        force: flags.force === true,
        expires: expiryOf(flags.expires, host.clock.now()),
      });
      output(ctx, flags.json, { ...result, signed: keyPath !== undefined }, formatPack(result, keyPath));
    });

  release
    .command('rollout')
    .description("set a version's staged rollout in a feed's manifest.json: only that percent of devices takes it by itself")
    .argument('<feed>', 'the feed folder')
    .argument('<version>', 'a version in the feed')
    .requiredOption('--percent <n>', 'the share of devices in, 0 to 100; raising it only adds devices')
    .option('--salt <salt>', 'which sample of the fleet (default: the salt the version has, else the version)')
    .option('--key <file>', 'PEM ed25519 private key to sign the manifest with again (manifest.json.sig)')
    .option('--expires <duration>', 'the new edition stops being believed after this long, such as "30d", or "never"; needed when the manifest has an expiry')
    .option('--json', 'print {manifest, version, rollout, serial} as JSON')
    .action(async (feed: string, version: string, flags: { percent: string; salt?: string; key?: string; expires?: string; json?: boolean }) => {
      const { host } = ctx;
      const keyPath = flags.key === undefined ? undefined : resolve(host.cwd, flags.key);
      if (keyPath !== undefined) await checkSigningKey(host, keyPath);
      const { setFeedRollout } = await import('../../update/feed-rollout.ts');
      const percent = /^\d+$/.test(flags.percent) ? Number(flags.percent) : Number.NaN;
      const result = await setFeedRollout(host.fs, { feed: resolve(host.cwd, feed), version, percent, salt: flags.salt, keyPath, expires: expiryOf(flags.expires, host.clock.now()) });
      const lines = [`${result.version} in ${result.manifest}: rollout ${result.rollout.percent}% (salt "${result.rollout.salt}"), serial ${result.serial}`];
      if (result.manifestSignature !== undefined) lines.push(`  signed as a whole in ${result.manifestSignature}`);
      if (result.expires !== undefined) lines.push(`  expires   ${result.expires} (pack or sign a new edition before then, or supervisors refuse the feed)`);
      if (result.staleMinisig !== undefined) lines.push(`  note: ${result.staleMinisig} no longer matches the manifest: sign it again with minisign -S -m ${result.manifest}`);
      output(ctx, flags.json, result, `${lines.join('\n')}\n`);
    });

  release
    .command('serve')
    .description('serve a feed folder (manifest.json, tarballs, signatures) read-only over HTTP, for http sources')
    .argument('<dir>', 'the feed folder, as outlast release pack --feed wrote it')
    .option('--port <n>', 'port to listen on (0 = any free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--json', 'print {url, manifest} as JSON once listening')
    .action(async (dir: string, flags: { port: string; host: string; json?: boolean }) => {
      const { host } = ctx;
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OutlastError('BAD_REQUEST', `--port needs a port number, not "${flags.port}"`);
      const feed = resolve(host.cwd, dir);
      if ((await host.fs.lstat(feed))?.kind !== 'directory') throw new OutlastError('NOT_FOUND', `${feed} is not a folder`);
      const { serveFeed } = await import('../../update/feed-server.ts');
      const server = await serveFeed(host.fs, feed, { host: flags.host, port, onError: (err) => ctx.printError(`cannot serve a file: ${(err as Error).message}\n`) }).catch((err: unknown) => {
        throw new OutlastError('ADDRESS_IN_USE', `cannot listen on ${flags.host}:${port}: ${(err as Error).message}`, { cause: err });
      });
      const manifest = `${server.url}/manifest.json`;
      output(ctx, flags.json, { url: server.url, manifest }, `serving ${feed} at ${server.url}\n  updates.source: {"type": "http", "manifest": "${manifest}"}\n`);
      // Until a stop signal; then the connections are closed and the command ends (exit 0).
      await new Promise<void>((done) => {
        const offs = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => host.onSignal(signal, () => (offs.forEach((off) => off()), done())));
      });
      await server.close();
    });
}
