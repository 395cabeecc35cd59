/**
 * The composition of `outlast run`: which objects exist, and what each is
 * handed. Nothing here runs anything; runSupervisor (supervisor.ts) calls
 * these in order and then starts them.
 */
import type { Platform } from '../platform/platform.ts';
import { readSystemdProperties } from '../platform/systemd-properties.ts';
import { hostRunner } from '../platform/systemctl-runner.ts';
import { createInsights } from './api/insights.ts';
import type { LoginCodes } from './api/login-codes.ts';
import { createApi, type ApiServer } from './api/server.ts';
import type { Config } from './config/schema.ts';
import { Controller } from './controller.ts';
import type { EventBus } from './events.ts';
import { writeMarker } from './forensics/markers.ts';
import type { MetricsRecorder } from './metrics/recorder.ts';
import type { Host } from './host/host.ts';
import { attachNotifier } from './notify/attach.ts';
import { NOTIFY_SOCKET_ENV } from './notify/protocol.ts';
import type { ReadySocket } from './notify/ready-socket.ts';
import { waitReadyMessage } from './notify/ready-wait.ts';
import { createSystemdNotifier } from './notify/sd-notify.ts';
import { ownApiUp, selfUpdating, type Adoption } from './restart/keep-child.ts';
import { probeStart } from './restart/start-probe.ts';
import { SelfRestarter } from './restart/self-restart.ts';
import { childEnv } from './service/child-env.ts';
import type { Listeners } from './service/listeners.ts';
import { Service } from './service/service.ts';
import type { SignalRouter } from './signals.ts';
import { ChildRecordKeeper } from './state/child-record.ts';
import { STATE_DIR_ENV } from './state/orphans.ts';
import type { SupervisorIo } from './supervisor.ts';
import type { Teardown } from './teardown.ts';
import type { Updater } from './update/updater.ts';
import { AutoUpdater } from './update/auto.ts';
import { LazyUpdater, type Updates } from './update/lazy-updater.ts';
import { UpdateLock } from './update/lock.ts';
import type { ReportsView } from './update/reports.ts';
import { residentReport } from './resident.ts';
import { VERSION } from './version.ts';
import { isoTime } from './iso-time.ts';

/** How long a self-update's new supervisor may take to load and answer its start probe. */
const START_PROBE_TIMEOUT_MS = 20_000;

/** Where each child starts. The Updater decides once it exists; it is built after the Service it restarts, so the Service asks through this. */
export interface Placement {
  updater?: Updates | undefined;
}

/** What the service is started with, besides the config. */
export interface ServiceParts {
  events: EventBus;
  notifySocket: ReadySocket | undefined;
  listeners: Listeners | undefined;
  placement: Placement;
  /** Set where a re-exec may keep the child (keep-child.ts). */
  adoption?: Adoption | undefined;
}

/** The Service, with its events on the bus, child.json, the ready marker and sd_notify attached. */
export function createService(host: Host, config: Config, io: SupervisorIo, parts: ServiceParts): Service {
  const { events, notifySocket, listeners, placement, adoption } = parts;
  const { logger } = io;
  const service = new Service({
    host,
    config: config.service,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    extraEnv: { [STATE_DIR_ENV]: config.stateDir, ...(notifySocket === undefined ? {} : { [NOTIFY_SOCKET_ENV]: notifySocket.path }) },
    ...(listeners === undefined ? {} : { listeners }),
    ...(adoption === undefined ? {} : { fifoDir: adoption.fifoDir }),
    ...(notifySocket === undefined ? {} : { readyMessage: (signal: AbortSignal, timeoutMs: number) => waitReadyMessage(host, notifySocket, signal, timeoutMs) }),
    spawnContext: () => placement.updater?.spawnContext() ?? {},
  });
  service.onEvent(({ type, at, ...data }) => events.emit(`service_${type}`, { ...data, at: isoTime(at) }));
  // sd_notify for Type=notify units: READY=1 once healthy, STATUS=, STOPPING=1, WATCHDOG=1 (no-op without NOTIFY_SOCKET).
  attachNotifier(service, createSystemdNotifier(host, logger), logger, host.clock);
  trackChild(host, config.stateDir, service, logger);
  const offReady = service.onEvent((event) => {
    if (event.type !== 'ready') return;
    offReady();
    void writeMarker(host, config.stateDir, 'ready', { childPid: event.pid, restartId: host.env.OUTLAST_RESTART_ID ?? null });
  });
  return service;
}

/** Keeps child.json in step with the service's child (coalesced: see ChildRecordKeeper). */
function trackChild(host: Host, stateDir: string, service: Service, logger: SupervisorIo['logger']): void {
  const record = new ChildRecordKeeper(host, stateDir, (err) => logger.warn({ err }, 'cannot update child.json'));
  service.onEvent((event) => {
    if (event.type === 'spawned') record.set(event.pid);
    else if (event.type === 'exited' || event.type === 'stopped' || event.type === 'finished' || event.type === 'errored') record.set(null);
  });
}

/** What the restart and update wiring needs. */
export interface RestartParts {
  platform: Platform;
  service: Service;
  signals: SignalRouter;
  events: EventBus;
  teardown: Teardown;
  placement: Placement;
  logger: SupervisorIo['logger'];
  /** Writes out what the log file holds queued (before an execve replaces this process). */
  flushLogs: () => Promise<void>;
  /** The child this image adopted, if any. */
  adoptedPid?: number | undefined;
}

/**
 * How the supervisor restarts itself (SelfRestarter), who decides restart
 * and stop requests (Controller), and, with `updates`, the Updater that
 * self-updates through the controller. The Updater becomes the placement of
 * every child from here on.
 */
export function composeRestarts(host: Host, config: Config, parts: RestartParts): { selfRestarter: SelfRestarter; controller: Controller; updater: Updates | undefined } {
  const { platform, service, signals, events, teardown, placement, logger, flushLogs, adoptedPid } = parts;
  // One lock per state dir, shared by updates and the supervisor's own restarts.
  const lock = new UpdateLock(host, config.stateDir, (err, holder) => logger.error({ err, id: holder.id }, 'the update lock was compromised'));
  const selfRestarter = new SelfRestarter({
    host,
    logger,
    stateDir: config.stateDir,
    lock,
    platform,
    unitProperties: async () => {
      const unit = platform.systemd?.unit;
      if (unit === undefined || unit === null) return undefined;
      return readSystemdProperties(unit, { scope: platform.systemd?.scope ?? 'system', timeoutMs: 1500, run: hostRunner(host, 'systemctl') }).catch(() => undefined);
    },
    requested: config.selfRestart.strategy,
    force: config.selfRestart.force,
    delayMs: config.selfRestart.delayMs,
    retries: config.selfRestart.retries,
    quiesce: (options) => teardown.beforeRestart({ keepChild: options?.keepChild === true }),
    flushLogs,
  });
  const controller = new Controller({ host, logger, stateDir: config.stateDir, drainMs: config.service.stopTimeoutMs, service, isStopping: () => signals.isStopping(), selfRestarter });
  // The pipeline loads on the first operation that needs it (lazy-updater.ts): an idle supervisor never holds it.
  const load = async (updates: NonNullable<Config['updates']>): Promise<Updater> => {
    // The source lists and fetches in a child process (sources/apart.ts): its parsers, crypto and tar never load here.
    const [{ Updater }, { createApartSource }, { createBundledSource }] = await Promise.all([import('./update/updater.ts'), import('./update/sources/apart.ts'), import('./update/sources/bundled.ts')]);
    return new Updater({
      host,
      stateDir: config.stateDir,
      config: updates,
      busy: config.service.busy,
      source: createApartSource(updates.source, host, { stateDir: config.stateDir, warn: (line) => logger.warn(line) }),
      service,
      logger,
      events,
      lock,
      // Hooks run the service's code: the child's env rules, without the sockets only a child is handed.
      env: childEnv(host.env, config.service, { [STATE_DIR_ENV]: config.stateDir }),
      bundled: updates.bundled === undefined ? undefined : createBundledSource(host.fs, updates.bundled, [config.stateDir]),
      selfRestart: selfUpdating(host, config) ? (reason, held) => controller.selfUpdate(reason, held) : undefined,
      selfOptions: { probe: () => probeStart(host, START_PROBE_TIMEOUT_MS), adoptedPid, apiUp: (ms) => ownApiUp(host, config.stateDir, ms) },
    });
  };
  const { updates } = config;
  placement.updater = updates === undefined ? undefined : new LazyUpdater({ host, stateDir: config.stateDir, lock, logger, bundled: updates.bundled !== undefined, load: () => load(updates) });
  return { selfRestarter, controller, updater: placement.updater };
}

/**
 * With `updates.auto`, the schedule of checks and applies over the Updater;
 * started once the service is, and stopped by either way out (its timers
 * never hold the process open by themselves).
 */
export function createAutoUpdater(host: Host, config: Config, parts: { updater: Updates | undefined; events: EventBus; teardown: Teardown; logger: SupervisorIo['logger'] }): AutoUpdater | undefined {
  const { updater, events, teardown, logger } = parts;
  const auto = config.updates?.auto;
  if (updater === undefined || auto === undefined) return undefined;
  const scheduler = new AutoUpdater({ host, config: auto, updater, events, logger });
  teardown.add('always', () => scheduler.stop());
  return scheduler;
}

/** The control API over the service, the controller and the updater. */
export function createControlApi(
  host: Host,
  config: Config,
  parts: { token: string; startedAt: string; service: Service; controller: Controller; updater: Updates | undefined; auto?: AutoUpdater | undefined; reports?: ReportsView | undefined; events: EventBus; recorder: MetricsRecorder; logger: SupervisorIo['logger']; logins: LoginCodes },
): ApiServer {
  const { token, startedAt, service, controller, updater, auto, reports, events, recorder, logger, logins } = parts;
  return createApi(
    {
      token,
      supervisorStatus: () => ({ pid: host.pid, version: VERSION, startedAt, name: config.name }),
      serviceStatus: () => service.status(),
      async statusExtras() {
        if (updater === undefined) return {};
        const last = await updater.lastOperation();
        const lastUpdate = last === undefined ? null : { id: last.id, kind: last.kind, state: last.state, from: last.from, to: last.to, endedAt: last.endedAt ?? null, error: last.error ?? null };
        const updates = { ...(auto === undefined ? {} : { auto: auto.status() }), ...(reports === undefined ? {} : { reports: reports.state() }) };
        return { service: { version: updater.currentVersion ?? null }, lastUpdate, ...(Object.keys(updates).length === 0 ? {} : { updates }) };
      },
      updater,
      events,
      logins,
      insights: createInsights(host, config),
      restart: (target) => controller.restart(target),
      stop: (reason) => controller.stop(reason),
      resident: () => residentReport(host.memory().rss),
      metrics: () => ({ version: VERSION, rssBytes: host.memory().rss, service: service.status(), recorded: recorder, updates: updater === undefined ? undefined : { check: updater.cachedCheck() } }),
    },
    { bodyLimit: config.api.bodyLimit, logger, now: () => host.clock.now() },
  );
}
