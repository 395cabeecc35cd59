/**
 * The http source: a JSON manifest (manifest.ts) fetched over HTTP(S), and
 * tarballs downloaded with a hard size limit, verified and extracted.
 *
 * Only a network error, a timeout or a 5xx is retried, with exponential
 * backoff: a 4xx will not get better by asking again. For a download the
 * timeout is a silence: a body that stalls for timeoutMs is retried from the
 * start, while one that breaks off with an error fails the fetch. A body
 * that never quite stalls is bounded by the limits of transfer-limits.ts:
 * an overall deadline and a rate floor, whose trips are final.
 *
 * Signatures are fetched next to what they sign, the suffix added to the
 * URL's path: `<tarball>.minisig`, `<manifest>.minisig`, `<manifest>.sig`.
 * A 404 there means "not signed"; any other failure is the source's.
 */
import { OutlastError } from '../../errors.ts';
import type { Host } from '../../host/host.ts';
import type { ExtractFs } from '../extract.ts';
import { MAX_MINISIG_BYTES } from '../minisign.ts';
import { completeEntry, manifestReleases, parseManifest, readBounded, readManifestBytes } from './manifest.ts';
import { sourceTrust, type TrustOptions } from './manifest-trust.ts';
import { admit, readFailure, receiveRelease, signatureTooLarge } from './receive.ts';
import { oversize, type FetchContext, type ReleaseEntry, type UpdateSource } from './source.ts';
import { fetchDeadline, RATE_WINDOW_MS, rateFloor } from './transfer-limits.ts';

/** The http source's config. */
export interface HttpSourceConfig {
  manifest: string;
  publicKey?: string | undefined;
  minisignKey?: string | undefined;
  requireSignedManifest?: boolean | undefined;
  /** Extra attempts after the first, for network errors and 5xx. */
  retries: number;
  /** For the manifest: the whole request. For a download: the longest silence. */
  timeoutMs: number;
}

/** What the http source needs of the Host: its clock for retry waits, and the release files. */
export type HttpSourceHost = Pick<Host, 'clock'> & { fs: ExtractFs };

/** The side effects of the http source a test may replace. */
export interface HttpSourceDeps {
  fetch: typeof globalThis.fetch;
  /** Resolves after `ms`, rejects with the signal's reason when aborted. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The first retry waits this long; each next one twice as long. */
  retryBaseMs: number;
}

/** The real deps: global fetch, and the Host's clock for the waits. */
function defaultDeps(host: HttpSourceHost): HttpSourceDeps {
  return {
    fetch: (input, init) => globalThis.fetch(input, init),
    sleep: (ms, signal) => host.clock.sleep(ms, signal),
    retryBaseMs: 500,
  };
}

/** A failure that another attempt may cure. */
class Transient extends Error {}

/** An abort signal that fires after `ms` without progress on the Host's clock; `kick` restarts the count. */
function watchdog(clock: HttpSourceHost['clock'], parent: AbortSignal, ms: number): { signal: AbortSignal; kick: () => void; stop: () => void } {
  const controller = new AbortController();
  let timer: AbortController | undefined;
  const kick = (): void => {
    timer?.abort();
    const mine = new AbortController();
    timer = mine;
    clock.sleep(ms, mine.signal).then(() => controller.abort(new Transient(`timed out after ${ms} ms`)), () => undefined);
  };
  kick();
  return { signal: AbortSignal.any([parent, controller.signal]), kick, stop: () => timer?.abort() };
}

/** One GET; throws Transient for what is worth retrying. */
async function get(fetch: HttpSourceDeps['fetch'], url: URL, signal: AbortSignal, parent: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json, application/octet-stream' } });
  } catch (err) {
    if (parent.aborted) throw parent.reason;
    // The attempt's own limits: a silence (Transient, retried) or a rate floor (final).
    if (signal.aborted) throw signal.reason;
    const failure = readFailure(err, parent, 'request');
    throw new Transient(failure instanceof Error ? failure.message : String(failure));
  }
  if (response.ok) return response;
  await response.body?.cancel().catch(() => undefined);
  const message = `answered ${response.status} ${response.statusText}`.trim();
  if (response.status >= 500) throw new Transient(message);
  throw new OutlastError('SOURCE_UNAVAILABLE', `GET ${url.href} ${message}`, { details: { url: url.href, status: response.status } });
}

/** The response body as chunks; none for a bodiless answer. */
function bodyOf(response: Response): AsyncIterable<Uint8Array> {
  return response.body ?? (async function* () {})();
}

/** `url` with `suffix` added to its path (the query kept): where its signature is. */
function beside(url: URL, suffix: string): URL {
  const next = new URL(url.href);
  next.hash = '';
  next.pathname += suffix;
  return next;
}

/** Creates the http source; `options` keep its manifest serials. */
export function createHttpSource(config: HttpSourceConfig, host: HttpSourceHost, deps: Partial<HttpSourceDeps> = {}, options: TrustOptions): UpdateSource {
  const { fetch, sleep, retryBaseMs } = { ...defaultDeps(host), ...deps };
  const manifestUrl = new URL(config.manifest);
  const { keys, trust } = sourceTrust(config, manifestUrl.href, options);

  /** Runs `attempt` until it succeeds, throws something final, or the retries run out. */
  async function withRetries<T>(url: URL, parent: AbortSignal, attempt: (signal: AbortSignal, kick: () => void) => Promise<T>, log?: (line: string) => void): Promise<T> {
    for (let n = 0; ; n++) {
      const timer = watchdog(host.clock, parent, config.timeoutMs);
      try {
        return await attempt(timer.signal, timer.kick);
      } catch (err) {
        if (!(err instanceof Transient)) throw err;
        if (n >= config.retries) {
          throw new OutlastError('SOURCE_UNAVAILABLE', `GET ${url.href} failed after ${n + 1} attempts: ${err.message}`, {
            details: { url: url.href, attempts: n + 1 },
          });
        }
        const wait = retryBaseMs * 2 ** n;
        log?.(`GET ${url.href} ${err.message}; retrying in ${wait} ms`);
        await sleep(wait, parent);
      } finally {
        timer.stop();
      }
    }
  }

  /** A signature file at `url`; undefined when the server has none (404, 410). */
  async function getSignature(url: URL, signal: AbortSignal, log?: (line: string) => void): Promise<Buffer | undefined> {
    return withRetries(url, signal, async (attemptSignal) => {
      let response: Response;
      try {
        response = await get(fetch, url, attemptSignal, signal);
      } catch (err) {
        const status = err instanceof OutlastError ? err.details?.status : undefined;
        if (status === 404 || status === 410) return undefined;
        throw err;
      }
      const data = await readBounded(bodyOf(response), MAX_MINISIG_BYTES, (err) => (signal.aborted ? signal.reason : new Transient(`broke off: ${(err as Error).message}`)));
      if (data === undefined) throw signatureTooLarge(url.href);
      return data;
    }, log);
  }

  async function list(signal: AbortSignal): Promise<ReleaseEntry[]> {
    const bytes = await withRetries(manifestUrl, signal, async (attemptSignal) => {
      const response = await get(fetch, manifestUrl, attemptSignal, signal);
      return readManifestBytes(bodyOf(response), response.url, (err) => (signal.aborted ? signal.reason : new Transient(`broke off: ${(err as Error).message}`)));
    });
    const manifest = parseManifest(bytes.toString('utf8'), manifestUrl.href);
    await trust(bytes, manifest, manifestUrl.href, (suffix) => getSignature(beside(manifestUrl, suffix), signal));
    return manifestReleases(manifest);
  }

  async function fetchRelease(wanted: ReleaseEntry, dest: string, ctx: FetchContext): Promise<void> {
    const entry = await completeEntry(wanted, () => list(ctx.signal));
    const url = new URL(entry.url, manifestUrl);
    // A remote manifest must not point the supervisor at its own disk.
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OutlastError('SOURCE_UNAVAILABLE', `release ${entry.version} has a non-http url "${entry.url}"`, { details: { url: entry.url } });
    }
    const admission = await admit(entry, ctx, keys, () => getSignature(beside(url, '.minisig'), ctx.signal, ctx.log));
    const { limit } = admission;
    const what = `download of ${url.href}`;
    let received = 0;
    // The deadline spans every attempt and every wait between them, so it
    // joins the caller's signal: whatever is running when it trips ends with it.
    const deadline = ctx.fetchTimeoutMs === undefined ? undefined : fetchDeadline(host.clock, ctx.signal, { ms: ctx.fetchTimeoutMs, what, received: () => received });
    const parent = deadline?.signal ?? ctx.signal;
    try {
      await withRetries(url, parent, async (attemptSignal, kick) => {
        // The rate floor is per attempt, from the request on: a retry starts
        // its count afresh, and slow headers count against it too.
        const floor = rateFloor(host.clock, attemptSignal, { minBytesPerSecond: ctx.minBytesPerSecond ?? 0, windowMs: ctx.rateWindowMs ?? RATE_WINDOW_MS, what });
        try {
          const response = await get(fetch, url, floor.signal, parent);
          const declared = Number(response.headers.get('content-length') ?? Number.NaN);
          if (declared > limit) {
            await response.body?.cancel().catch(() => undefined);
            throw oversize(entry.version, limit, 'download of release');
          }
          // The attempt's signal: a stalled body is a timeout, retried like one.
          const attemptCtx: FetchContext = {
            ...ctx,
            signal: floor.signal,
            onProgress: (done, total) => {
              kick();
              floor.record(done);
              received = done;
              ctx.onProgress?.(done, total);
            },
          };
          await receiveRelease(host.fs, bodyOf(response), entry, dest, attemptCtx, admission, what);
        } finally {
          floor.stop();
        }
      }, ctx.log);
    } finally {
      deadline?.stop();
    }
  }

  return { kind: 'http', list, fetch: fetchRelease };
}
