/**
 * sd_notify for a `Type=notify` unit. Node cannot send a unix datagram, so
 * each message goes through the `systemd-notify` binary, which is why the
 * generated unit sets `NotifyAccess=all` (the sender is our child, not the
 * main PID). systemd-notify waits (a barrier, systemd >= 246) until the
 * manager has read the message, so the manager still finds its sender's
 * cgroup; older ones may race with their own exit.
 *
 * Everything here is best effort: a failure is logged, never thrown, and
 * every call is bounded by a timeout, so a stuck manager cannot stall the
 * supervisor.
 */
import { hostRunner, type CommandRunner, type RunnerHost } from '../../platform/systemctl-runner.ts';
import type { Host } from '../host/host.ts';
import type { Logger } from '../log/logger.ts';

/** Talks to the service manager; every method is a no-op when NOTIFY_SOCKET is unset. */
export interface Notifier {
  /** NOTIFY_SOCKET is set: a manager listens. */
  readonly enabled: boolean;
  /** How often to send WATCHDOG=1, in ms; undefined when the manager expects no pings from us. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1, with a status line. */
  ready(status?: string): Promise<void>;
  /** STOPPING=1, with a status line. */
  stopping(status?: string): Promise<void>;
  /** WATCHDOG=1. Skipped while the previous ping is still on its way. */
  watchdog(): Promise<void>;
  /** STATUS=<text>, shown by `systemctl status`. */
  status(text: string): Promise<void>;
}

/** Options for {@link createNotifier}. */
export interface NotifierOptions {
  /** Our pid, to honour WATCHDOG_PID. */
  pid: number;
  /** The budget of one systemd-notify run; 2 s by default. */
  timeoutMs?: number;
}

/**
 * The watchdog ping interval: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
 * advises, when WATCHDOG_PID is unset or names us (it names the main PID;
 * a child that inherited the variables must not ping).
 */
export function watchdogInterval(env: Readonly<Record<string, string | undefined>>, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

// STATUS= is one line; systemd shows it in `systemctl status`.
function statusLine(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ').slice(0, 200)}`;
}

/**
 * A notifier that runs `systemd-notify` through `run` (a runner bound to the
 * systemd-notify binary, which inherits NOTIFY_SOCKET from our environment).
 * Messages go out one at a time, in call order: READY=1 must never overtake
 * the STATUS= before it, nor STOPPING=1 overtake READY=1.
 */
export function createNotifier(run: CommandRunner, env: Readonly<Record<string, string | undefined>>, logger: Logger, options: NotifierOptions): Notifier {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') {
    return { enabled: false, watchdogIntervalMs: undefined, ready: noop, stopping: noop, watchdog: noop, status: noop };
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  let queue: Promise<void> = Promise.resolve();
  let pinging = false;
  // Warn once per kind of message, then quietly until it works again: a
  // manager that went away must not flood the log every watchdog interval.
  const failing = new Set<string>();
  // The STATUS= last in the queue, not sent yet: a newer status() rewrites
  // its text instead of queueing a run of its own, so a crash loop that
  // changes the status faster than systemd-notify runs queues at most one.
  let waitingStatus: { line: string; sent: Promise<void> } | undefined;

  const send = (kind: string, assignments: string[] | (() => string[])): Promise<void> => {
    // Anything queued behind the waiting STATUS= ends its rewriting: a newer status must not overtake it.
    if (kind !== 'STATUS') waitingStatus = undefined;
    const next = queue.then(async () => {
      const outcome = await run(typeof assignments === 'function' ? assignments() : assignments, timeoutMs);
      const problem =
        outcome.kind === 'exited'
          ? outcome.exitCode === 0
            ? undefined
            : `exited with ${outcome.exitCode}: ${outcome.stderr.trim()}`
          : outcome.kind === 'timed-out'
            ? `did not finish within ${timeoutMs} ms`
            : outcome.message;
      if (problem === undefined) {
        failing.delete(kind);
        return;
      }
      const fields = { notify: kind, socket, problem };
      if (failing.has(kind)) logger.debug(fields, 'sd_notify failed again');
      else logger.warn(fields, `sd_notify ${kind} failed: systemd-notify ${problem}`);
      failing.add(kind);
    });
    queue = next.catch(() => undefined);
    return queue;
  };

  return {
    enabled: true,
    watchdogIntervalMs: watchdogInterval(env, options.pid),
    ready: (status) => send('READY', ['READY=1', ...(status === undefined ? [] : [statusLine(status)])]),
    stopping: (status) => send('STOPPING', ['STOPPING=1', ...(status === undefined ? [] : [statusLine(status)])]),
    status(text) {
      if (waitingStatus !== undefined) {
        waitingStatus.line = statusLine(text);
        return waitingStatus.sent;
      }
      const entry = { line: statusLine(text), sent: Promise.resolve() };
      entry.sent = send('STATUS', () => {
        if (waitingStatus === entry) waitingStatus = undefined;
        return [entry.line];
      });
      waitingStatus = entry;
      return entry.sent;
    },
    async watchdog() {
      if (pinging) return;
      pinging = true;
      try {
        await send('WATCHDOG', ['WATCHDOG=1']);
      } finally {
        pinging = false;
      }
    },
  };
}

/** What the systemd notifier needs of the Host. */
export type NotifyHost = RunnerHost & Pick<Host, 'pid'>;

/**
 * The notifier for this process: `systemd-notify` run through the Host, with
 * NOTIFY_SOCKET and the watchdog variables read from the Host's environment.
 */
export function createSystemdNotifier(host: NotifyHost, logger: Logger, options: Omit<NotifierOptions, 'pid'> = {}): Notifier {
  return createNotifier(hostRunner(host, 'systemd-notify'), host.env, logger, { ...options, pid: host.pid });
}

async function noop(): Promise<void> {}
