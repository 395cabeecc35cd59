/**
 * The shapes a Service shows the rest of the supervisor: its states, its
 * lifecycle events with their fields, its status, and what it needs.
 */
import type { ServiceConfig } from '../config/schema.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';
import type { Sink } from '../log/safe-sink.ts';
import type { Listeners } from './listeners.ts';
import type { ProbeResult } from './readiness.ts';

/**
 * Where the service is in its life. `finished` is the end of supervision by
 * the restart policy (the child exited and is not respawned); it has the
 * event of the same name.
 */
export type ServiceState = 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped' | 'errored' | 'finished';

/**
 * Why a child was spawned: the first start; a respawn by the crash policy
 * after the child exited (`crash`) or after it failed its readiness or
 * health checks and was stopped (`health`); or `restart()` with its reason.
 * `adopt` is no spawn: the child a previous image of this process left was
 * taken over (adopted.ts).
 */
export type SpawnCause = { cause: 'start' | 'crash' | 'health' | 'adopt' } | { cause: 'restart'; reason: string };

/** Each lifecycle event's own fields. */
export interface ServiceEventFields {
  /** A child started (`handoff` when it starts beside the old one on the same sockets), and why. */
  spawned: { pid: number; handoff?: boolean } & SpawnCause;
  ready: { pid: number; ms: number };
  /** A child ended on its own (a crash, or an exit the policy may respawn). */
  exited: { pid: number; description: string; code: number };
  unhealthy: { pid: number; reason: string };
  /** A child we stopped on purpose is gone: `ms` from the stop signal; `forced` when the drain budget ran out and it got SIGKILL. */
  child_stopped: { pid: number; reason: string; ms: number; forced: boolean };
  backoff: { delayMs: number; attempt: number };
  errored: { reason: string };
  stopping: { reason: string };
  stopped: { reason: string };
  /** Supervision ended by the restart policy. */
  finished: { reason: string };
}

/** The name of a lifecycle event. */
export type ServiceEventType = keyof ServiceEventFields;

/**
 * A lifecycle event, for logs, the API and `/events`. `at` is wall-clock ms.
 * Narrow on `type` for the typed fields; a listener that handles several
 * kinds may still probe a field (`typeof event.reason === 'string'`).
 */
export type ServiceEvent = { [K in ServiceEventType]: { type: K; at: number } & ServiceEventFields[K] & { readonly [field: string]: unknown } }[ServiceEventType];

/**
 * How a restart went: `ok` once the new child is ready (with owned sockets,
 * `handoff` says the old one served until then); otherwise why not, and with
 * a failed handoff the old child is still serving.
 */
export type RestartResult = { ok: true; handoff: boolean } | { ok: false; handoff: boolean; reason: string };

/** The service as `/status` reports it. */
export interface ServiceStatus {
  state: ServiceState;
  pid: number | null;
  restarts: number;
  uptimeMs: number | null;
  healthFailures: number;
  /** The last child's end: `code` by the shell's convention (128+N for signal N), `signal` when a signal killed it. */
  lastExit: { description: string; code: number; signal: NodeJS.Signals | null; at: string } | null;
  /** Why the service is errored or finished, when it is. */
  reason: string | null;
}

/** What a Service needs from its surroundings. */
export interface ServiceDeps {
  host: Host;
  config: ServiceConfig;
  logger: Logger;
  stdout: Sink;
  stderr: Sink;
  /** Extra variables for the child, on top of the configured env. */
  extraEnv?: Record<string, string>;
  /**
   * Asked at every spawn: where the child runs and what else its env holds.
   * Updates use it so each child starts in the release `current` points at.
   */
  spawnContext?: () => { cwd?: string; env?: Record<string, string> };
  /** With `health.notify`: resolves when the child sends READY=1 (or fails at the timeout or abort). */
  readyMessage?: (signal: AbortSignal, timeoutMs: number) => Promise<ProbeResult>;
  /** Sockets owned by the supervisor and handed to every child (`service.listen`). */
  listeners?: Listeners;
  /** Where each child's output FIFOs go (child-stdio.ts); unset: plain pipes, and no child survives an execve of ours. */
  fifoDir?: string;
}
