/**
 * `outlast audit --live`: start the service in its own process group, wait
 * until it is ready, hold idle keep-alive connections and one long-lived
 * connection, send the stop signal and time the exit against the budget,
 * exactly as the supervisor's own stop does (service/stop.ts).
 *
 * It never leaves the service running: the group is SIGKILLed at the budget,
 * and again in a finally on every other way out (not ready, an error, the
 * audit interrupted).
 */
import type { Readable } from 'node:stream';
import type { HealthConfig } from '../../config/schema.ts';
import { OutlastError } from '../../errors.ts';
import type { ChildExit, ChildHandle, Host } from '../../host/host.ts';
import { waitReady } from '../../service/readiness.ts';
import { stopGroup } from '../../service/stop.ts';
import type { HeldConnection, HeldStream, LiveNet, LiveTarget, StreamState } from './live-net.ts';
import type { LivePlan } from './plan.ts';
import { judgeStop, type Judgement } from './verdict.ts';

/** What a live run found. */
export interface LiveReport extends Judgement {
  command: readonly string[];
  pid: number | null;
  target: LiveTarget;
  stopSignal: NodeJS.Signals;
  budgetMs: number;
  readyAfterMs: number | null;
  held: { idle: number; requested: number; stream: StreamState | null; streamStatus: number | null; errors: string[] };
  exit: ChildExit | null;
  /** From the stop signal to the service's exit. */
  exitedAfterMs: number | null;
  /** The stop's phases with ms since the signal, as the supervisor logs them. */
  phases: Array<{ phase: string; ms: number }>;
  /** The last lines the service printed. */
  output: string[];
}

const TAIL_LINES = 20;
const IDLE_TIMEOUT_MS = 5000;
const STREAM_SETTLE_MS = 1000;
const BATCH = 25;
const REAP_WAIT_MS = 5000;

function keepTail(streams: ReadonlyArray<Readable | null>): string[] {
  const lines: string[] = [];
  for (const stream of streams) {
    // Read to the end whatever we keep: a full pipe would block the service.
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter((line) => line !== ''));
      lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
    });
  }
  return lines;
}

function spawnError(exit: ChildExit, command: readonly string[]): OutlastError {
  const errno = exit.kind === 'spawn-failed' ? exit.errno : 'UNKNOWN';
  const code = errno === 'ENOENT' ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE';
  return new OutlastError(code, `cannot run ${command.join(' ')}: ${exit.kind === 'spawn-failed' ? exit.message : errno}`, { details: { errno } });
}

type Raced<T> = { kind: 'value'; value: T } | { kind: 'exited'; exit: ChildExit } | { kind: 'aborted' };

function raceWith<T>(work: Promise<T>, exited: Promise<ChildExit>, aborted: Promise<void>): Promise<Raced<T>> {
  return Promise.race([
    work.then((value) => ({ kind: 'value', value }) as const),
    exited.then((exit) => ({ kind: 'exited', exit }) as const),
    aborted.then(() => ({ kind: 'aborted' }) as const),
  ]);
}

/** The connections held so far; once released, late arrivals are closed at once. */
interface Held {
  list: HeldConnection[];
  released: boolean;
}

function keep(held: Held, connection: HeldConnection): void {
  if (held.released) connection.destroy();
  else held.list.push(connection);
}

async function holdConnections(net: LiveNet, plan: LivePlan, held: Held, errors: string[]): Promise<{ idle: number; stream: HeldStream | undefined }> {
  let idle = 0;
  for (let start = 0; start < plan.connections; start += BATCH) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(BATCH, plan.connections - start) }, () => net.openIdle(plan.target, plan.path, IDLE_TIMEOUT_MS)));
    for (const result of batch) {
      if (result.status === 'fulfilled') {
        keep(held, result.value);
        idle += 1;
      } else if (errors.length < 3) errors.push(result.reason instanceof Error ? result.reason.message : String(result.reason));
    }
  }
  if (!plan.stream) return { idle, stream: undefined };
  try {
    const stream = await net.openStream(plan.target, plan.path, STREAM_SETTLE_MS);
    keep(held, stream);
    return { idle, stream };
  } catch (err) {
    errors.push(`long-lived connection: ${(err as Error).message}`);
    return { idle, stream: undefined };
  }
}

/**
 * Stops the group for good and waits, bounded, for the leader to be reaped.
 * The leader's pid is only signalled while it is known to be alive: once
 * reaped, the number may already belong to someone else.
 */
async function reap(host: Host, child: ChildHandle, pid: number, leaderGone: boolean): Promise<void> {
  host.killGroup(pid, 'SIGKILL');
  if (leaderGone) return;
  host.kill(pid, 'SIGKILL');
  const abort = new AbortController();
  await Promise.race([child.exited, host.clock.sleep(REAP_WAIT_MS, abort.signal).catch(() => undefined)]);
  abort.abort();
}

/** Runs the plan. `signal` interrupts it (the service is SIGKILLed, the verdict is `interrupted`). */
export async function runLive(host: Host, net: LiveNet, plan: LivePlan, signal?: AbortSignal): Promise<LiveReport> {
  const [file, ...args] = plan.command;
  if (file === undefined) throw new OutlastError('BAD_REQUEST', 'audit --live: the service command is empty');
  const spawnedAt = host.clock.monotonic();
  const child = host.spawn(file, args, { cwd: plan.cwd, env: plan.env, detached: true });
  const output = keepTail([child.stdout, child.stderr]);
  if (child.pid === undefined) throw spawnError(await child.exited, plan.command);
  const pid = child.pid;
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted === true) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  let leaderGone = false;
  void child.exited.then(() => (leaderGone = true));
  let stopped = false;
  // Opening may still go on after an early return (the service died, the
  // audit was interrupted); what arrives then is closed at once.
  const held: Held = { list: [], released: false };
  const errors: string[] = [];
  const report: LiveReport = {
    command: plan.command, pid, target: plan.target, stopSignal: plan.stopSignal, budgetMs: plan.budgetMs,
    readyAfterMs: null, held: { idle: 0, requested: plan.connections, stream: null, streamStatus: null, errors },
    exit: null, exitedAfterMs: null, phases: [], output,
    verdict: 'interrupted', severity: null, message: 'interrupted: the service was SIGKILLed',
  };
  const ended = (exit: ChildExit, stage: string): LiveReport => ({ ...report, exit, verdict: 'exited-early', severity: 'high', message: `exited ${stage}, before the stop signal (${exit.kind === 'exited' ? `code ${exit.code}` : exit.kind === 'signaled' ? exit.signal : exit.errno})` });
  try {
    const probing = new AbortController();
    void child.exited.then(() => probing.abort());
    void aborted.then(() => probing.abort());
    const health: HealthConfig = { url: plan.healthUrl, tcp: plan.healthUrl === undefined ? plan.target : undefined, intervalMs: 1000, timeoutMs: 1000, failureThreshold: 1, readyTimeoutMs: plan.readyTimeoutMs, notify: false };
    const ready = await raceWith(waitReady(host, health, probing.signal), child.exited, aborted);
    if (ready.kind === 'aborted') return report;
    if (ready.kind === 'exited') return ended(ready.exit, 'while starting');
    if (!ready.value.ok) {
      const where = plan.healthUrl ?? `${plan.target.host}:${plan.target.port}`;
      return { ...report, verdict: 'not-ready', severity: 'high', message: `never became ready: ${ready.value.reason} (waited on ${where}; if it listens elsewhere, say where with --port or --health-url)` };
    }
    report.readyAfterMs = Math.round(host.clock.monotonic() - spawnedAt);

    const load = await raceWith(holdConnections(net, plan, held, errors), child.exited, aborted);
    if (load.kind === 'aborted') return report;
    if (load.kind === 'exited') return ended(load.exit, 'while the connections opened');
    report.held.idle = load.value.idle;
    report.held.stream = load.value.stream?.state() ?? null;
    report.held.streamStatus = load.value.stream?.status() ?? null;

    let exitedAfterMs = plan.budgetMs;
    let leftovers = false;
    const stop = await raceWith(
      stopGroup(host, { pid, exited: child.exited }, plan.stopSignal, plan.budgetMs, (phase, ms) => {
        report.phases.push({ phase, ms });
        if (phase === 'child-exited') exitedAfterMs = ms;
        if (phase === 'group-leftovers') leftovers = true;
      }),
      new Promise<never>(() => undefined),
      aborted,
    );
    if (stop.kind !== 'value') return report;
    // stopGroup waited for the whole group or SIGKILLed it.
    stopped = true;
    return { ...report, ...judgeStop(stop.value, plan.stopSignal, plan.budgetMs, exitedAfterMs, leftovers), exit: stop.value.exit, exitedAfterMs: stop.value.forced ? null : exitedAfterMs };
  } finally {
    held.released = true;
    for (const connection of held.list) connection.destroy();
    if (!stopped) await reap(host, child, pid, leaderGone);
  }
}
