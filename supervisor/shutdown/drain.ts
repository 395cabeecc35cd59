/**
 * The drain itself, phase by phase: stop accepting, turn away new requests,
 * close idle keep-alive sockets, wait for requests in flight up to the
 * budget, destroy what is left, run the hooks. It decides the exit code and
 * leaves the exit to its caller.
 */
import { inspect } from 'node:util';
import type { ConnectionCounts, ConnectionTracker, DrainableServer } from './connections.ts';
import type { ShutdownHook, ShutdownSettings } from './options.ts';

/** One server and its tracker. */
export interface Drainable {
  server: DrainableServer;
  tracker: ConnectionTracker;
}

/** Logs a phase with the ms since the stop began. */
export type PhaseLog = (level: 'info' | 'warn' | 'error', message: string) => void;

// After every socket is destroyed, the close callback comes within a tick or
// two; only a socket we never saw (a TLS handshake still going) can hold it.
const CLOSE_GRACE_MS = 500;

function stopAccepting(server: DrainableServer): Promise<void> {
  return new Promise((resolve) => {
    // ERR_SERVER_NOT_RUNNING: never listened, or closed already. Either way
    // it accepts nothing, which is all this phase wants.
    server.close(() => resolve());
  });
}

/**
 * Resolves true when `promise` settles within `ms`, false when the time runs
 * out first. The timer is not unref'd, on purpose: it is always cleared, and
 * while it runs it keeps the event loop alive, so a hook awaiting something
 * that holds no handle cannot let the process drift out with code 0 before
 * the remaining phases and the real exit code.
 */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sum(counts: readonly ConnectionCounts[]): ConnectionCounts {
  return counts.reduce((a, b) => ({ idle: a.idle + b.idle, inFlight: a.inFlight + b.inFlight, upgraded: a.upgraded + b.upgraded }), { idle: 0, inFlight: 0, upgraded: 0 });
}

async function runHook(hook: ShutdownHook, index: number, reason: string, timeoutMs: number, log: PhaseLog): Promise<boolean> {
  const name = hook.name === '' ? `hook ${index + 1}` : `hook ${index + 1} (${hook.name})`;
  const abort = new AbortController();
  let failure: unknown;
  const run = (async () => hook(reason, abort.signal))().catch((err: unknown) => {
    failure = err;
  });
  const finished = await within(run, timeoutMs);
  if (!finished) {
    abort.abort(new Error(`${name} timed out`));
    log('error', `${name} did not finish within ${timeoutMs} ms; abandoned`);
    return false;
  }
  if (failure !== undefined) {
    log('error', `${name} failed: ${failure instanceof Error ? failure.message : inspect(failure)}`);
    return false;
  }
  log('info', `${name} done`);
  return true;
}

/**
 * Drains `targets` and runs the hooks. Resolves with the exit code: 0, or 1
 * when requests had to be cut at the deadline or a hook failed or timed out.
 */
export async function drain(targets: readonly Drainable[], settings: ShutdownSettings, reason: string, log: PhaseLog, elapsed: () => number): Promise<number> {
  let ok = true;
  // 1. Stop accepting. Node >= 19 also closes idle keep-alive sockets here;
  //    the tracker below does it for older ones and counts them either way.
  const closed = Promise.all(targets.map((target) => stopAccepting(target.server)));
  log('info', `stopped accepting on ${targets.length} server${targets.length === 1 ? '' : 's'}`);

  // 2 and 3. New requests get 503 + Connection: close; idle sockets go now.
  const atStart = sum(targets.map((target) => target.tracker.drain()));
  log('info', `closed ${atStart.idle} idle keep-alive connection(s); ${atStart.inFlight} with requests in flight, ${atStart.upgraded} upgraded`);

  // 4. Requests in flight get what is left of the budget. Upgraded sockets
  //    are not waited for: a WebSocket never finishes on its own.
  const settled = await within(Promise.all(targets.map((target) => target.tracker.settled())), Math.max(0, settings.drainMs - elapsed()));
  if (settled) log('info', 'no request in flight');
  else log('warn', `drain budget of ${settings.drainMs} ms spent with requests still in flight`);

  // 5. Whatever is left is destroyed, upgraded sockets included.
  const left = sum(targets.map((target) => target.tracker.destroyAll()));
  if (left.inFlight > 0) ok = false;
  log(left.inFlight > 0 ? 'warn' : 'info', `destroyed ${left.idle + left.inFlight + left.upgraded} remaining connection(s): ${left.upgraded} upgraded, ${left.inFlight} cut mid-request`);
  if (await within(closed, CLOSE_GRACE_MS)) log('info', 'servers closed');
  else log('warn', `servers still not closed ${CLOSE_GRACE_MS} ms after the last connection was destroyed; going on`);

  // 6. Hooks, in order, each bounded.
  for (const [index, hook] of settings.hooks.entries()) {
    if (!(await runHook(hook, index, reason, settings.hookTimeoutMs, log))) ok = false;
  }
  return ok ? 0 : 1;
}
