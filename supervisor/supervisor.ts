/**
 * `outlast run`, read top to bottom: prepare the state dir, open the API,
 * publish supervisor.json, start the service, route signals, and wind down.
 * It returns the exit code; the CLI entry is what exits.
 */
import { OutlastError } from './errors.ts';
import type { Config } from './config/schema.ts';
import type { ChildExit, Host } from './host/host.ts';
import type { Logger } from './log/logger.ts';
import type { Sink } from './log/safe-sink.ts';
import { createApi } from './api/server.ts';
import { isLoopback } from './api/auth.ts';
import { Service } from './service/service.ts';
import { exitCodeFor } from './service/exit-code.ts';
import { stopForeign } from './service/stop.ts';
import { openListeners, type ListenSpec, type Listeners } from './service/listeners.ts';
import { clearChildRecord, writeChildRecord } from './state/child-record.ts';
import { findOrphans, STATE_DIR_ENV } from './state/orphans.ts';
import {
  clearSupervisorInfo,
  ensureStateDir,
  ensureToken,
  findRunningSupervisor,
  statePaths,
  writeSupervisorInfo,
  type SupervisorInfo,
} from './state/state-dir.ts';
import { registerSupervisor, registeredPlatform, unregisterSupervisor } from './state/registry.ts';
import { VERSION } from './version.ts';
import { EventBus } from './events.ts';
import { join, resolve } from 'node:path';
import { NOTIFY_SOCKET_ENV, type ReadyMessage } from './notify/protocol.ts';
import { listenReadySocket, type ReadySocket } from './notify/ready-socket.ts';
import { readPlatform } from '../platform/read-platform.ts';
import { readSystemdProperties } from '../platform/systemd-properties.ts';
import { rotateMarkers, writeMarker } from './forensics/markers.ts';
import { SelfRestarter } from './restart/self-restart.ts';
import type { StrategyOutcome } from './restart/strategy.ts';
import { createSource } from './update/sources/index.ts';
import { Updater } from './update/updater.ts';
import { execaRunner } from '../platform/systemctl-runner.ts';
import { attachNotifier } from './notify/attach.ts';
import { createNotifier } from './notify/sd-notify.ts';
import { shutdownSnapshot } from './forensics/snapshot.ts';
import { recordStopSignal } from './forensics/stop-signal.ts';
import { writePlannedStop } from './forensics/planned-stop.ts';
import { scriptsDir } from './version.ts';

/** Signals passed on to the child untouched. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'];
/** Signals that stop the supervisor gracefully. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Where the supervisor writes, and who hears that it is up. */
export interface SupervisorIo {
  logger: Logger;
  stdout: Sink;
  stderr: Sink;
  /** Called once the API listens and the service has been started. */
  onStarted?: (info: SupervisorInfo & { tokenPath: string }) => void;
}

/**
 * The exit code after a stop we asked for: 0 when the child stopped within
 * its budget (by exiting, or by dying of the stop signal itself), otherwise
 * the child's own code, so a forced SIGKILL shows up as 137.
 */
export function stopExitCode(exit: ChildExit | undefined, stopSignal: NodeJS.Signals, forced: boolean): number {
  if (exit === undefined) return 0;
  if (!forced && exit.kind === 'signaled' && exit.signal === stopSignal) return 0;
  return exitCodeFor(exit);
}

async function refuseSecondSupervisor(host: Host, stateDir: string): Promise<void> {
  const running = await findRunningSupervisor(host, stateDir);
  if (running !== undefined) {
    throw new OutlastError('ALREADY_RUNNING', `another outlast (pid ${running.pid}) is running with state dir ${stateDir}`, {
      details: { pid: running.pid, apiUrl: running.apiUrl },
    });
  }
}

function apiUrlOf(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/** The socket services send READY=1 and STATUS= to; a path too long for a unix socket costs only that feature. */
async function openNotifySocket(stateDir: string, logger: Logger): Promise<ReadySocket | undefined> {
  try {
    const socket = await listenReadySocket(join(stateDir, 'notify.sock'));
    socket.on('message', (message) => {
      if (message.status !== undefined) logger.info({ status: message.status, childPid: message.pid }, 'service status');
    });
    return socket;
  } catch (err) {
    logger.warn({ err }, 'no notify socket: services cannot report readiness with ready()');
    return undefined;
  }
}

/** Binds the sockets of `service.listen`; a port in use is a clear error. */
async function openOwnedSockets(host: Host, specs: readonly ListenSpec[], logger: Logger): Promise<Listeners> {
  try {
    const listeners = await openListeners(host, specs);
    logger.info({ sockets: specs.map((s) => `${s.host}:${s.port}`), fds: listeners.fds.length }, 'owning the listening sockets: restarts hand them over');
    return listeners;
  } catch (err) {
    throw new OutlastError('ADDRESS_IN_USE', `cannot own the service's sockets (service.listen): ${(err as Error).message}`, { cause: err });
  }
}

/** Waits for READY=1 from the service, bounded by the timeout and the attempt's abort. */
function waitReadyMessage(host: Host, socket: ReadySocket, signal: AbortSignal, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const timer = new AbortController();
    const done = (result: { ok: true } | { ok: false; reason: string }): void => {
      timer.abort();
      socket.off('message', onMessage);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onMessage = (message: ReadyMessage): void => {
      if (message.ready === true) done({ ok: true });
    };
    const onAbort = (): void => done({ ok: false, reason: 'aborted' });
    host.clock.sleep(timeoutMs, timer.signal).then(() => done({ ok: false, reason: `no READY=1 within ${timeoutMs} ms` }), () => undefined);
    socket.on('message', onMessage);
    signal.addEventListener('abort', onAbort);
  });
}

/** Whether this supervisor was started from inside the release store (a self-updating install). */
function runsFromRelease(host: Host, stateDir: string): boolean {
  const entry = host.invocation.argv[0];
  if (entry === undefined) return false;
  const inside = (dir: string): boolean => resolve(host.cwd, entry).startsWith(`${dir}/`);
  return inside(join(stateDir, 'current')) || inside(join(stateDir, 'releases'));
}

/** The environment hooks (install, preflight) run with: the service's own. */
function serviceEnv(host: Host, config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  if (config.service.inheritEnv) for (const [k, v] of Object.entries(host.env)) if (v !== undefined) env[k] = v;
  return { ...env, ...config.service.env };
}

/** Ends what a SIGKILLed predecessor left behind, so two copies never serve at once. */
async function endOrphans(host: Host, config: Config, logger: Logger): Promise<void> {
  const orphans = await findOrphans(host, config.stateDir);
  if (orphans.length === 0) return;
  logger.warn({ orphans: orphans.map((o) => o.pid) }, 'a previous supervisor left its service running: stopping it');
  const forced = await stopForeign(host, orphans, config.service.stopSignal, config.service.stopTimeoutMs);
  if (forced > 0) logger.warn({ forced }, 'orphaned processes did not stop within budget: SIGKILLed');
}

/** Keeps child.json in step with the service's child; writes are serialised in event order. */
function trackChild(host: Host, stateDir: string, service: Service, logger: Logger): void {
  let chain: Promise<void> = Promise.resolve();
  const gone = new Set(['exited', 'stopped', 'finished', 'errored']);
  service.onEvent((event) => {
    const pid = event.pid;
    if (event.type === 'spawned' && typeof pid === 'number') {
      chain = chain.then(() => writeChildRecord(host, stateDir, pid));
    } else if (gone.has(event.type)) {
      chain = chain.then(() => clearChildRecord(host, stateDir));
    } else {
      return;
    }
    chain = chain.catch((err: unknown) => logger.warn({ err }, 'cannot update child.json'));
  });
}

/** Opens the API; returns its URL. */
async function listenApi(api: ReturnType<typeof createApi>, config: Config): Promise<string> {
  try {
    await api.listen({ host: config.api.host, port: config.api.port });
    const address = api.server.address();
    if (address === null || typeof address === 'string') throw new Error('the API has no TCP address');
    return apiUrlOf(address.address, address.port);
  } catch (err) {
    await api.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new OutlastError('ADDRESS_IN_USE', `API port ${config.api.host}:${config.api.port} is in use; pick another with --api-port (0 = any free port)`, { cause: err });
    }
    throw new OutlastError('INTERNAL', `cannot start the API on ${config.api.host}:${config.api.port}: ${(err as Error).message}`, { cause: err });
  }
}

/** The stop path: the first stop signal drains, a second one kills. */
interface Lifecycle {
  /** Settles with the exit code once a requested stop is complete. */
  stopped: Promise<number>;
  isStopping(): boolean;
  /** `{sinceStopMs}` once a stop began, for the phase logs; `{}` before. */
  sinceStop(): { sinceStopMs?: number };
  /** Removes the signal handlers. */
  off(): void;
}

function routeSignals(host: Host, config: Config, service: Service, logger: Logger, events: EventBus): Lifecycle {
  // A marker per caught signal; it never changes how the signal is handled.
  const mark = (signal: NodeJS.Signals): void => void writeMarker(host, config.stateDir, 'signal', { signal, ppid: host.ppid });
  let stopping: Promise<number> | undefined;
  let stopStartedAt: number | undefined;
  let stopRequested!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (stopRequested = resolve));
  const handlers: Array<() => void> = [];
  for (const signal of STOP_SIGNALS) {
    handlers.push(
      host.onSignal(signal, (sig) => {
        mark(sig);
        if (stopping === undefined) {
          stopStartedAt = host.clock.monotonic();
          // One line with the snapshot, planned or not; then the stop. A planned stop exits 0 even if the drain was cut short.
          const { planned, reason } = recordStopSignal({ host, stateDir: config.stateDir, logger, events, drainMs: config.service.stopTimeoutMs, scriptsDir: scriptsDir() }, sig);
          stopping = service.stop(reason, stopStartedAt).then((outcome) => (planned ? 0 : stopExitCode(outcome?.exit, config.service.stopSignal, outcome?.forced ?? false)));
          void stopping.then(stopRequested);
          return;
        }
        // A second Ctrl-C means "now": skip the rest of the drain budget.
        const pid = service.status().pid;
        logger.warn({ signal: sig, childPid: pid, snapshot: shutdownSnapshot(host, sig, config.stateDir) }, 'second stop signal: killing the service group now');
        if (pid !== null) host.killGroup(pid, 'SIGKILL');
      }),
    );
  }
  for (const signal of FORWARDED_SIGNALS) {
    handlers.push(
      host.onSignal(signal, (sig) => {
        mark(sig);
        const pid = service.status().pid;
        logger.info({ signal: sig, childPid: pid, snapshot: shutdownSnapshot(host, sig, config.stateDir) }, pid === null ? 'signal received with no child to forward to' : 'forwarding signal to the service');
        if (pid !== null) host.kill(pid, sig);
      }),
    );
  }
  return {
    stopped,
    isStopping: () => stopping !== undefined,
    sinceStop: () => (stopStartedAt === undefined ? {} : { sinceStopMs: Math.round(host.clock.monotonic() - stopStartedAt) }),
    off: () => handlers.forEach((off) => off()),
  };
}

/** Runs the supervisor until the service ends or a stop signal arrives; returns the exit code. */
export async function runSupervisor(host: Host, config: Config, io: SupervisorIo): Promise<number> {
  const { logger } = io;
  await ensureStateDir(host, config.stateDir);
  await refuseSecondSupervisor(host, config.stateDir);
  const token = await ensureToken(host, config.stateDir);
  if (!isLoopback(config.api.host)) {
    logger.warn({ host: config.api.host }, 'the control API listens beyond loopback; every route but /health needs the token');
  }

  const startedAt = new Date(host.clock.now()).toISOString();
  const events = new EventBus(() => host.clock.now());
  const notifySocket = await openNotifySocket(config.stateDir, logger);
  const listeners = config.service.listen === undefined ? undefined : await openOwnedSockets(host, config.service.listen, logger);
  let updater: Updater | undefined;
  const service = new Service({
    host,
    config: config.service,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    extraEnv: { [STATE_DIR_ENV]: config.stateDir, ...(notifySocket === undefined ? {} : { [NOTIFY_SOCKET_ENV]: notifySocket.path }) },
    ...(listeners === undefined ? {} : { listeners }),
    ...(notifySocket === undefined ? {} : { readyMessage: (signal: AbortSignal, timeoutMs: number) => waitReadyMessage(host, notifySocket, signal, timeoutMs) }),
    spawnContext: () => updater?.spawnContext() ?? {},
  });
  service.onEvent(({ type, at, ...data }) => events.emit(`service_${type}`, { ...data, at: new Date(at).toISOString() }));
  // sd_notify for Type=notify units: READY=1 once healthy, STATUS=, STOPPING=1, WATCHDOG=1 (no-op without NOTIFY_SOCKET).
  attachNotifier(service, createNotifier(execaRunner('systemd-notify'), host.env, logger, { pid: host.pid }), logger, host.clock);
  if (config.updates !== undefined) {
    updater = new Updater({
      host,
      stateDir: config.stateDir,
      config: config.updates,
      busy: config.service.busy,
      source: createSource(config.updates.source),
      service,
      logger,
      events,
      env: serviceEnv(host, config),
      selfUpdate: config.updates.selfUpdate ?? runsFromRelease(host, config.stateDir),
      selfRestart: async (reason) => {
        const outcome = await selfRestarter.restart(reason, { lockHeld: true });
        if (outcome.exitCode >= 0) restartRequested(outcome.exitCode);
      },
    });
  }
  // Orphans first (they may still run an old release or a hook in staging),
  // then recovery, both before the API opens: no client sees a half-recovered store.
  await endOrphans(host, config, logger);
  await updater?.recover();
  const lifecycle = routeSignals(host, config, service, logger, events);
  await rotateMarkers(host, config.stateDir);
  const platform = readPlatform();
  let restarting: Promise<number> | undefined;
  let restartRequested!: (code: number) => void;
  const restarted = new Promise<number>((resolve) => (restartRequested = resolve));
  let quiesce: () => Promise<void> = async () => undefined;
  const selfRestarter = new SelfRestarter({
    host,
    logger,
    stateDir: config.stateDir,
    platform,
    unitProperties: async () => {
      const unit = platform.systemd?.unit;
      if (unit === undefined || unit === null) return undefined;
      return readSystemdProperties(unit, { scope: platform.systemd?.scope ?? 'system', timeoutMs: 1500 }).catch(() => undefined);
    },
    requested: config.restart.strategy,
    force: config.restart.force,
    delayMs: config.restart.delayMs,
    retries: config.restart.retries,
    quiesce: () => quiesce(),
  });
  const choice = await selfRestarter.choice();
  logger.info({ platform: platform.kind, strategy: choice.name, why: choice.reason }, 'platform detected');
  if (choice.refused !== undefined) logger.warn({ refused: choice.refused }, 'configured restart strategy refused');

  const api = createApi(
    {
      token,
      supervisorStatus: () => ({ pid: host.pid, version: VERSION, startedAt, name: config.name }),
      serviceStatus: () => service.status(),
      async statusExtras() {
        if (updater === undefined) return {};
        const last = await updater.lastOperation();
        const lastUpdate = last === undefined ? null : { id: last.id, kind: last.kind, state: last.state, from: last.from, to: last.to, endedAt: last.endedAt ?? null, error: last.error ?? null };
        return { service: { version: updater.currentVersion ?? null }, lastUpdate };
      },
      updater,
      events,
      async restart(target) {
        if (lifecycle.isStopping() || restarting !== undefined) {
          throw new OutlastError('CONFLICT', 'the supervisor is stopping or restarting');
        }
        if (target === 'supervisor') {
          const { name } = await selfRestarter.choice();
          return {
            strategy: name,
            after: () => {
              restarting = selfRestarter.restart('requested through the API').then(
                (outcome: StrategyOutcome) => {
                  if (outcome.exitCode >= 0) restartRequested(outcome.exitCode);
                  else restarting = undefined;
                  return outcome.exitCode;
                },
                (err: unknown) => {
                  logger.error({ err }, 'supervisor restart failed; staying up');
                  restarting = undefined;
                  return -1;
                },
              );
            },
          };
        }
        const { state } = service.status();
        if (state === 'stopping' || state === 'stopped' || state === 'exited') {
          throw new OutlastError('CONFLICT', `cannot restart: the service is ${state}`, { details: { state } });
        }
        service.restart('api').catch((err: unknown) => logger.error({ err }, 'restart failed'));
        return {};
      },
      async stop(reason) {
        const answer = { pid: host.pid, drainMs: config.service.stopTimeoutMs };
        if (restarting !== undefined) throw new OutlastError('CONFLICT', 'the supervisor is restarting');
        if (lifecycle.isStopping()) return { ...answer, alreadyStopping: true };
        // The marker first, then SIGTERM to ourselves once the 202 is out: the
        // one stop path tells planned from unplanned by the marker alone.
        await writePlannedStop(host, config.stateDir, reason);
        return { ...answer, after: () => void host.kill(host.pid, 'SIGTERM') };
      },
    },
    { bodyLimit: config.api.bodyLimit, logger },
  );

  let apiUrl: string;
  try {
    apiUrl = await listenApi(api, config);
  } catch (err) {
    lifecycle.off();
    throw err;
  }
  let exitCode: number | undefined;
  try {
    const info: SupervisorInfo = { pid: host.pid, apiUrl, startedAt, version: VERSION, name: config.name };
    await writeSupervisorInfo(host, config.stateDir, info);
    await registerSupervisor(host, { name: config.name, stateDir: config.stateDir, apiUrl, version: VERSION, startedAt, platform: registeredPlatform(platform) }, logger);
    logger.info({ apiUrl, stateDir: config.stateDir, version: VERSION }, 'outlast supervisor started');
    await updater?.installIfMissing();
    // A stop signal during a long first install means: do not start at all.
    if (lifecycle.isStopping()) return (exitCode = await lifecycle.stopped);
    quiesce = async () => {
      lifecycle.off();
      await service.stop('supervisor restart');
      await api.close();
      await clearSupervisorInfo(host, config.stateDir);
      await unregisterSupervisor(host);
    };
    trackChild(host, config.stateDir, service, logger);
    const offReady = service.onEvent((event) => {
      if (event.type !== 'ready') return;
      offReady();
      void writeMarker(host, config.stateDir, 'ready', { childPid: event.pid, restartId: host.env.OUTLAST_RESTART_ID ?? null });
    });
    // A self-update handed over to us: its gate watches this first child.
    await updater?.beginResume();
    service.start();
    updater?.continueResume();
    io.onStarted?.({ ...info, tokenPath: statePaths(config.stateDir).token });
    const code = await Promise.race([service.done.then((exit) => exitCodeFor(exit)), lifecycle.stopped, restarted]);
    await writeMarker(host, config.stateDir, 'exit', { code, restarting: restarting !== undefined });
    return (exitCode = code);
  } finally {
    if (exitCode !== undefined) logger.info({ ...lifecycle.sinceStop() }, 'stop: cleanup (API, notify socket, supervisor.json)');
    lifecycle.off();
    await api.close();
    await notifySocket?.close();
    listeners?.close();
    await clearSupervisorInfo(host, config.stateDir);
    await unregisterSupervisor(host);
    if (exitCode !== undefined) logger.info({ exitCode, ...lifecycle.sinceStop() }, 'bye');
  }
}
