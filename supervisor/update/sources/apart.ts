/**
 * The update source in a short-lived child process (apart-main.ts), so that
 * what listing and fetching load never becomes part of the supervisor: the
 * manifest parser and its trust checks, node:crypto for the digests and
 * signatures, zlib and the tar parser for the extraction. A supervisor keeps
 * every module it loads for as long as it lives, on a phone whose
 * low-memory killer takes the biggest process first; after a first install
 * that was about 5 MB.
 *
 * Each `list` and each `fetch` runs one child, with the same node, cwd and
 * environment. The request (the source config as the supervisor validated
 * it, and for a fetch the entry and its limits) is the first line on the
 * child's stdin, never on its command line, where `ps` would show a feed's
 * credentials. The child prints JSON lines on stdout: `ready` once its modules loaded, then
 * warnings, log lines and progress as they happen, then one answer (the
 * entries, `done`, or the OutlastError it refused with, raised here with the
 * same code, message and details). The child writes the manifest serials
 * in the state dir and the release into the staging dir itself; nothing
 * else of the supervisor's state is its. Lists asked while one runs share
 * its child (twenty applies at once read the manifest once), so two
 * children never judge and write the serials at once; a warning is passed
 * on once per source, as the source in this process would say it.
 *
 * A child that dies before `ready` (it could not start, or load its
 * modules) gives way to the source in this process: the same result, only
 * heavier, recorded as the capability "update sources" so `outlast doctor
 * --json` shows why. A child that dies after it is a failed list or fetch:
 * the staging dir is the caller's to remove, what the source kept beside it
 * (a download, a git checkout: `<staging>.*`) is removed here. The caller's
 * abort kills the child's process group, and a child whose supervisor is
 * gone (its stdin pipe ends) kills its own group.
 */
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { raiseAnswer, readErrorAnswer, type ErrorAnswer } from '../../errors.ts';
import { jsonObject } from '../../json-object.ts';
import { collect, definedEnv } from '../../../platform/systemctl-runner.ts';
import type { Host } from '../../host/host.ts';
import { describeExit } from '../../service/exit-code.ts';
import { noteLoaded } from '../../resident.ts';
import type { SourceHost, SourceOptions, SourceSpec } from './create.ts';
import type { GnuTarProgram } from '../gnu-tar.ts';
import type { FetchContext, ReleaseEntry, UpdateSource } from './source.ts';

/** The child's entry, next to this module (.ts in a checkout, .js in dist/). */
const MAIN = new URL(`./apart-main${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

/** The limits of a fetch, as FetchContext has them (what crosses to the child). */
export type FetchLimits = Pick<FetchContext, 'maxBytes' | 'maxUnpackedBytes' | 'fetchTimeoutMs' | 'minBytesPerSecond' | 'rateWindowMs'>;

/** What the child is asked: the first line on its stdin (JSON). */
export type ApartRequest =
  | { op: 'list'; spec: SourceSpec; stateDir?: string | undefined }
  | { op: 'fetch'; spec: SourceSpec; stateDir?: string | undefined; entry: ReleaseEntry; dest: string; limits: FetchLimits; untar: GnuTarProgram | null };

/** One line the child prints. */
export type ApartLine =
  | { ready: true }
  | { warn: string }
  | { log: string }
  | { progress: [done: number, total: number | null] }
  | { entries: ReleaseEntry[] }
  | { done: true }
  | { error: ErrorAnswer }
  /**
   * Anything else that went wrong, by its message, with the errno and call
   * of a system error (raised here as an Error with those, as the source
   * would have thrown it: a full disk stays NO_SPACE).
   */
  | { failure: string; errno?: string; syscall?: string };

/** The lines that end a run. */
type Final = Extract<ApartLine, { entries: unknown } | { done: unknown } | { error: unknown } | { failure: unknown }>;

/** The answer a line holds, or undefined for a line that is none (or not JSON). */
export function readLine(text: string): ApartLine | undefined {
  const line = jsonObject(text);
  if (line === undefined) return undefined;
  if (line.ready === true) return { ready: true };
  if (typeof line.warn === 'string') return { warn: line.warn };
  if (typeof line.log === 'string') return { log: line.log };
  if (Array.isArray(line.progress) && typeof line.progress[0] === 'number' && (typeof line.progress[1] === 'number' || line.progress[1] === null)) {
    return { progress: [line.progress[0], line.progress[1]] };
  }
  if (Array.isArray(line.entries)) return { entries: line.entries as ReleaseEntry[] };
  if (line.done === true) return { done: true };
  if (typeof line.failure === 'string') {
    return { failure: line.failure, ...(typeof line.errno === 'string' ? { errno: line.errno } : {}), ...(typeof line.syscall === 'string' ? { syscall: line.syscall } : {}) };
  }
  const error = readErrorAnswer(line.error);
  return error === undefined ? undefined : { error };
}

/** The error an answer carries, as the source in this process would have thrown it. */
export function raised(final: Extract<Final, { error: unknown } | { failure: unknown }>): Error {
  if ('failure' in final) {
    const { errno, syscall } = final;
    return Object.assign(new Error(final.failure), errno === undefined ? {} : { code: errno }, syscall === undefined ? {} : { syscall });
  }
  return raiseAnswer(final.error);
}

/** What the apart source needs of the Host: the child, and the source in this process should it not start. */
export type ApartHost = SourceHost & Pick<Host, 'spawn' | 'killGroup' | 'invocation' | 'cwd' | 'env'> & { fs: Pick<Host['fs'], 'readdir' | 'rm'> };

/**
 * Runs one child for `request`. Resolves with its answer, or with undefined
 * when it died before it was ready (then the caller falls back); rejects
 * with the caller's abort reason, or when a ready child gave no answer.
 */
async function runChild(host: ApartHost, request: ApartRequest, signal: AbortSignal, onLine: (line: ApartLine) => void): Promise<Final | undefined> {
  signal.throwIfAborted();
  const env = definedEnv(host.env);
  // The request goes on stdin, which then stays open: it ends when this process does, however it ends, and the child then stops too.
  const child = host.spawn(host.invocation.execPath, [fileURLToPath(MAIN)], { cwd: host.cwd, env, detached: true, stdin: 'pipe' });
  // A child that died at once closes the pipe: its exit says why, not the write.
  child.stdin?.on('error', () => undefined);
  child.stdin?.write(`${JSON.stringify(request)}\n`);
  const kill = (): void => {
    if (child.pid !== undefined) host.killGroup(child.pid, 'SIGKILL');
  };
  signal.addEventListener('abort', kill, { once: true });
  let ready = false;
  let final: Final | undefined;
  let pending = '';
  let stderr = '';
  const take = (text: string): void => {
    const line = readLine(text);
    if (line === undefined) return;
    if ('ready' in line) ready = true;
    else if ('entries' in line || 'done' in line || 'error' in line || 'failure' in line) final ??= line;
    else onLine(line);
  };
  try {
    const [exit] = await Promise.all([
      child.exited,
      collect(child.stdout, (chunk) => {
        pending += chunk;
        for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
          take(pending.slice(0, at));
          pending = pending.slice(at + 1);
        }
      }),
      // The tail only, for the message when the child dies without an answer.
      collect(child.stderr, (chunk) => void (stderr = (stderr + chunk).slice(-2000))),
    ]);
    take(pending);
    signal.throwIfAborted();
    if (final !== undefined) return final;
    if (!ready) return undefined;
    const said = stderr.trim().split('\n').slice(-3).join('; ');
    throw new Error(`the update source's child process ended before it answered (${describeExit(exit)})${said === '' ? '' : `: ${said}`}`);
  } finally {
    signal.removeEventListener('abort', kill);
    child.stdin?.destroy();
  }
}

/** `promise`, or the rejection with `signal`'s reason should it abort first (the promise runs on for whoever else waits). */
function whileNotAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let stop = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(signal.reason as Error);
    signal.addEventListener('abort', stop, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', stop));
}

/**
 * Removes what a source kept beside `dest` for a fetch that did not finish:
 * every sibling named `<dest>.*` (a download, `.download-*.tgz`; a git
 * checkout, `.git-*`), as the source's own cleanup would have.
 */
async function removeLeftovers(fs: ApartHost['fs'], dest: string): Promise<void> {
  const prefix = `${basename(dest)}.`;
  const dir = dirname(dest);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) if (name.startsWith(prefix)) await fs.rm(join(dir, name));
}

/**
 * The source `spec` describes, each list and fetch run in a child process;
 * `options` as createSource takes them (the state dir for the manifest
 * serials, the warning line).
 */
export function createApartSource(spec: SourceSpec, host: ApartHost, options: SourceOptions = {}): UpdateSource {
  let here: Promise<UpdateSource> | undefined;
  // The warnings already passed on: each child is a fresh source that would say its warning again.
  const warned = new Set<string>();
  // The list running now, if any: a list asked meanwhile shares its child (and the deadline of whoever started it).
  let listing: Promise<Final | undefined> | undefined;
  /** The source in this process, for a child that could not start. */
  const inProcess = (): Promise<UpdateSource> => {
    here ??= import('./create.ts').then(({ createSource }) => {
      noteLoaded('update sources');
      return createSource(spec, host, {}, options);
    });
    return here;
  };
  const onLine =
    (ctx?: Pick<FetchContext, 'log' | 'onProgress'>) =>
    (line: ApartLine): void => {
      if ('warn' in line) {
        if (!warned.has(line.warn)) options.warn?.(line.warn);
        warned.add(line.warn);
      }
      else if ('log' in line) ctx?.log?.(line.log);
      else if ('progress' in line) ctx?.onProgress?.(line.progress[0], line.progress[1] ?? undefined);
    };
  const base = { spec, ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }) };
  return {
    kind: spec.type,
    async list(signal) {
      signal.throwIfAborted();
      if (listing === undefined) {
        const run = runChild(host, { op: 'list', ...base }, signal, onLine());
        listing = run;
        void run.then(
          () => (listing = listing === run ? undefined : listing),
          () => (listing = listing === run ? undefined : listing),
        );
      }
      const final = await whileNotAborted(listing, signal);
      if (final === undefined) return (await inProcess()).list(signal);
      if ('entries' in final) return final.entries;
      if ('done' in final) throw new Error("the update source's child process answered a list with no entries");
      throw raised(final);
    },
    async fetch(entry, dest, ctx) {
      const limits: FetchLimits = {
        maxBytes: ctx.maxBytes,
        ...(ctx.maxUnpackedBytes === undefined ? {} : { maxUnpackedBytes: ctx.maxUnpackedBytes }),
        ...(ctx.fetchTimeoutMs === undefined ? {} : { fetchTimeoutMs: ctx.fetchTimeoutMs }),
        ...(ctx.minBytesPerSecond === undefined ? {} : { minBytesPerSecond: ctx.minBytesPerSecond }),
        ...(ctx.rateWindowMs === undefined ? {} : { rateWindowMs: ctx.rateWindowMs }),
      };
      let final: Final | undefined;
      try {
        final = await runChild(host, { op: 'fetch', ...base, entry, dest, limits, untar: ctx.untar?.program ?? null }, ctx.signal, onLine(ctx));
      } catch (err) {
        await removeLeftovers(host.fs, dest);
        throw err;
      }
      if (final === undefined) return (await inProcess()).fetch(entry, dest, ctx);
      if ('done' in final) return;
      await removeLeftovers(host.fs, dest);
      if ('entries' in final) throw new Error("the update source's child process answered a fetch with a list");
      throw raised(final);
    },
  };
}
