/**
 * `outlast/shutdown`: a correct drain for a Node HTTP service in one call.
 *
 *   import { gracefulShutdown } from 'outlast/shutdown';
 *   const server = http.createServer(app);
 *   const shutdown = gracefulShutdown(server, { drainMs: 8000, onShutdown: [() => db.close()] });
 *   server.listen(port, () => void shutdown.ready());
 *
 * On SIGTERM or SIGINT: stop accepting; answer new requests on open
 * keep-alive sockets with 503 and `Connection: close`; close idle keep-alive
 * sockets at once; give requests in flight up to `drainMs`; destroy what is
 * left, upgraded (WebSocket) sockets included; run the hooks, each bounded;
 * exit 0 (1 when requests were cut or a hook failed). An unref'd timer exits
 * 1 at `hardExitMs` whatever is still pending, and a second SIGINT exits at
 * once (a repeated SIGTERM does not). Each phase is logged with the ms since
 * the stop began.
 *
 * Keep drainMs + the hooks' time below the stop budget of whatever stops the
 * service (outlast's stopTimeoutMs, systemd's TimeoutStopSec, Docker's stop
 * timeout), or the drain is SIGKILLed halfway.
 */
import { NOTIFY_SOCKET_ENV } from '../notify/protocol.ts';
import { trackConnections, type DrainableServer } from './connections.ts';
import { drain, type PhaseLog } from './drain.ts';
import { sendNotify } from './notify-client.ts';
import { resolveOptions, type GracefulShutdownOptions } from './options.ts';

/** What gracefulShutdown returns. */
export interface ShutdownHandle {
  /**
   * Starts the shutdown without a signal (an admin endpoint, a fatal error).
   * Resolves with the exit code once `exit` has been called; a second call
   * returns the same promise.
   */
  shutdown(reason?: string): Promise<number>;
  /**
   * Tells the supervisor that the service is ready, by writing `READY=1` to
   * the unix socket named in OUTLAST_NOTIFY_SOCKET. Call it once the server
   * listens. Resolves true when delivered; false, with nothing sent, when the
   * variable is not set (not run by outlast); false with a warning logged when
   * the socket cannot be reached. Never rejects.
   */
  ready(): Promise<boolean>;
  /** Sends a one-line status (`STATUS=<text>`) the same way; same results as ready(). */
  status(text: string): Promise<boolean>;
  /** Whether a shutdown has begun. */
  readonly shuttingDown: boolean;
  /** Removes the signal listeners; a shutdown already running goes on. */
  dispose(): void;
}

const PREFIX = 'outlast/shutdown';

/**
 * Installs the graceful shutdown on one or more HTTP(S) servers. Call it right
 * after creating them, before they accept connections, so every socket is
 * tracked. See the module comment for the phases.
 */
export function gracefulShutdown(servers: DrainableServer | readonly DrainableServer[], options: GracefulShutdownOptions = {}): ShutdownHandle {
  const settings = resolveOptions(options);
  const list: readonly DrainableServer[] = Array.isArray(servers) ? servers : [servers as DrainableServer];
  const targets = list.map((server) => ({ server, tracker: trackConnections(server) }));
  const { logger, exit } = settings;
  let running: Promise<number> | undefined;
  let startedAt = 0;
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  const log: PhaseLog = (level, message) => logger[level](`${PREFIX} +${elapsed()}ms ${message}`);

  const shutdown = (reason = 'shutdown requested'): Promise<number> => {
    if (running !== undefined) return running;
    startedAt = performance.now();
    log('info', `${reason}: draining (budget ${settings.drainMs} ms, hard exit at ${settings.hardExitMs} ms)`);
    // The fallback for anything the phases below cannot bound (a server that
    // never closes, a process.exit that was replaced). Unref'd: a drain that
    // finishes early is never held open by it.
    const hardExit = setTimeout(() => {
      log('error', `still not done after ${settings.hardExitMs} ms: exiting with code 1`);
      exit(1);
    }, settings.hardExitMs);
    hardExit.unref();
    running = drain(targets, settings, reason, log, elapsed).then(
      (code) => {
        clearTimeout(hardExit);
        log(code === 0 ? 'info' : 'warn', `exit ${code}`);
        exit(code);
        return code;
      },
      (err: unknown) => {
        clearTimeout(hardExit);
        log('error', `drain failed: ${err instanceof Error ? err.message : String(err)}; exit 1`);
        exit(1);
        return 1;
      },
    );
    return running;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running === undefined) {
      void shutdown(signal);
      return;
    }
    // A second Ctrl-C is a person in a hurry: do as asked. A repeated SIGTERM
    // is routine and must not cut the drain short: under systemd's default
    // KillMode=control-group the service gets SIGTERM from systemd and again
    // from its supervisor.
    if (signal === 'SIGINT') {
      log('warn', 'SIGINT again while draining: exiting now with code 1');
      exit(1);
      return;
    }
    log('info', `${signal} again while draining: already on it`);
  };
  for (const signal of settings.signals) process.on(signal, onSignal);

  const notify = async (message: { ready?: boolean; status?: string }): Promise<boolean> => {
    const outcome = await sendNotify(settings.env, message);
    if (!outcome.sent && (settings.env[NOTIFY_SOCKET_ENV] ?? '') !== '') logger.warn(`${PREFIX}: could not notify the supervisor: ${outcome.reason}`);
    return outcome.sent;
  };

  return {
    shutdown,
    ready: () => notify({ ready: true }),
    status: (text) => notify({ status: text }),
    get shuttingDown() {
      return running !== undefined;
    },
    dispose() {
      for (const signal of settings.signals) process.off(signal, onSignal);
    },
  };
}
