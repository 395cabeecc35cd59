/**
 * One spawn of the service: an `Attempt` is a child with its own
 * AbortController, so whatever watched an old attempt (readiness, health
 * loop, exit watcher) sees it is stale and stands down. Here: starting one,
 * and stopping one with every phase logged.
 */
import type { ChildExit, Host } from '../host/host.ts';
import { childEnv } from './child-env.ts';
import { openChildFifos, type ChildFifos, type OpenFifos } from './child-stdio.ts';
import { forwardLines } from './output.ts';
import { withListeners } from './listeners.ts';
import { describeExit, exitCodeFor } from './exit-code.ts';
import { reapGroup, stopGroup, type StopOutcome } from './stop.ts';
import type { ServiceDeps } from './types.ts';

/** One child of the service. */
export interface Attempt {
  pid: number;
  exited: Promise<ChildExit>;
  spawnedAt: number;
  abort: AbortController;
  /** Set when we stop this child on purpose, so its exit is not a crash. */
  stopping: boolean;
  output: Promise<void>;
  /** Output through FIFOs (child-stdio.ts): settles once they are renamed after the pid, so another image can find them. */
  fifos?: OpenFifos;
  /** Set on a child a previous image of this process left (adopted.ts): the Host its group is signalled through. */
  adopted?: { host: Host };
}

/** How a launch went: a running attempt, or the exit of a command that never ran. */
export type Launch = { ok: true; attempt: Attempt } | { ok: false; exited: Promise<ChildExit> };

/** FIFOs for the next child's output, or undefined for plain pipes (none asked for, or they cannot be made). */
function openFifos(deps: ServiceDeps): ChildFifos | undefined {
  if (deps.fifoDir === undefined) return undefined;
  try {
    return openChildFifos(deps.host, deps.fifoDir);
  } catch (err) {
    deps.logger.warn({ err }, 'cannot make the output FIFOs: this child gets pipes, and a re-exec of the supervisor will stop it');
    return undefined;
  }
}

/** Starts a child (with the sockets, when the supervisor owns any), in its own process group. */
export function launchAttempt(deps: ServiceDeps): Launch {
  const { host, config, listeners } = deps;
  const [command, ...commandArgs] = config.command as [string, ...string[]];
  const context = deps.spawnContext?.() ?? {};
  const cwd = context.cwd ?? config.cwd ?? host.cwd;
  const shimmed = listeners === undefined ? undefined : withListeners(listeners, command, commandArgs);
  const file = shimmed?.file ?? command;
  const args = shimmed?.args ?? commandArgs;
  const env = childEnv(host.env, config, deps.extraEnv, context.env, shimmed?.env);
  const fifos = openFifos(deps);
  const child = host.spawn(file, args, { cwd, env, detached: true, ...(shimmed === undefined ? {} : { passFds: shimmed.passFds }), ...(fifos === undefined ? {} : { stdio: fifos.stdio }) });
  const placed = fifos?.spawned(child.pid).catch((err: unknown) => deps.logger.warn({ err }, 'cannot name the output FIFOs after the child: it cannot be adopted'));
  if (child.pid === undefined) return { ok: false, exited: child.exited };
  const [out, err] = fifos === undefined ? [child.stdout, child.stderr] : [fifos.out, fifos.err];
  const output = Promise.all([out === null ? undefined : forwardLines(out, deps.stdout), err === null ? undefined : forwardLines(err, deps.stderr)]).then(() => fifos?.remove().catch(() => undefined));
  const attempt: Attempt = { pid: child.pid, exited: child.exited, spawnedAt: host.clock.monotonic(), abort: new AbortController(), stopping: false, output };
  if (fifos !== undefined && placed !== undefined) attempt.fifos = { ...fifos, placed };
  return { ok: true, attempt };
}

/**
 * Stops `attempt` gracefully (stop signal to the group, the drain budget,
 * then SIGKILL) and waits for its output to drain. `startedAt` (monotonic)
 * is when the stop was asked for: each phase is logged with `sinceStopMs`
 * from it, and `ms` from the stop signal.
 */
export async function stopAttempt(deps: ServiceDeps, attempt: Attempt, reason: string, startedAt: number): Promise<StopOutcome> {
  const { host, config, logger } = deps;
  attempt.stopping = true;
  attempt.abort.abort();
  const since = (): number => Math.round(host.clock.monotonic() - startedAt);
  logger.info({ childPid: attempt.pid, reason, signal: config.stopSignal, budgetMs: config.stopTimeoutMs, sinceStopMs: since() }, 'stop requested');
  const outcome = await stopGroup(attempt.adopted?.host ?? host, attempt, config.stopSignal, config.stopTimeoutMs, (phase, ms) => {
    const fields = { childPid: attempt.pid, ms, sinceStopMs: since() };
    if (phase === 'signal-sent') logger.info(fields, `stop: ${config.stopSignal} sent to the process group`);
    if (phase === 'child-exited') logger.info(fields, `stop: child exited after ${ms} ms`);
    if (phase === 'group-leftovers') logger.warn(fields, `stop: leftovers in the group SIGKILLed after ${ms} ms`);
    if (phase === 'force-killed') logger.warn(fields, `stop: child force-killed after ${ms} ms (budget ${config.stopTimeoutMs} ms)`);
  });
  await attempt.output;
  // An adopted child held the only listening copies; ours listen before the next child starts.
  if (attempt.adopted !== undefined) await deps.listeners?.activate();
  return outcome;
}

/** Kills a child that will never serve (a handoff candidate that did not become ready), group and all. */
export async function discardAttempt(host: Host, attempt: Attempt): Promise<void> {
  attempt.stopping = true;
  attempt.abort.abort();
  await stopGroup(attempt.adopted?.host ?? host, attempt, 'SIGKILL', 0, () => undefined);
}

/** Drains the child a handoff replaced: the stop signal, its budget, then SIGKILL; logs how long it took, and returns how it went. */
export async function drainAttempt(deps: ServiceDeps, attempt: Attempt): Promise<StopOutcome> {
  const { host, config, logger } = deps;
  attempt.stopping = true;
  attempt.abort.abort();
  const outcome = await stopGroup(attempt.adopted?.host ?? host, attempt, config.stopSignal, config.stopTimeoutMs, () => undefined);
  await attempt.output;
  logger.info({ oldPid: attempt.pid, ms: outcome.elapsedMs, forced: outcome.forced }, `handoff: the old child drained in ${outcome.elapsedMs} ms`);
  return outcome;
}

/** After a child ended on its own: SIGKILLs what it left in its group, and logs the exit. */
export function reportCrash(deps: ServiceDeps, attempt: Attempt, exit: ChildExit, uptimeMs: number): void {
  if (reapGroup(attempt.adopted?.host ?? deps.host, attempt.pid)) deps.logger.warn({ pgid: attempt.pid }, 'killed processes the child left behind in its group');
  deps.logger.warn({ childPid: attempt.pid, uptimeMs: Math.round(uptimeMs), exitCode: exitCodeFor(exit) }, `service ${describeExit(exit)}`);
}
