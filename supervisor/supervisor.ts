/**
 * `outlast run`, read top to bottom: prepare the state dir, open the
 * sockets, compose the service and its controller, recover the release
 * store, route signals, open the API, publish supervisor.json, start the
 * service, wait for the end, and let go. It returns the exit code; the CLI
 * entry is what exits.
 */
import type { Platform } from '../platform/platform.ts';
import type { Config } from './config/schema.ts';
import { LoginCodes } from './api/login-codes.ts';
import { composeRestarts, createAutoUpdater, createControlApi, createService, type Placement } from './compose.ts';
import type { Controller } from './controller.ts';
import { EventBus } from './events.ts';
import { rotateMarkers, writeMarker } from './forensics/markers.ts';
import type { Host } from './host/host.ts';
import type { LogFile } from './log/log-file.ts';
import type { Logger } from './log/logger.ts';
import { recordMetrics } from './metrics/recorder.ts';
import type { Sink } from './log/safe-sink.ts';
import type { SelfRestarter } from './restart/self-restart.ts';
import { exitCodeFor } from './service/exit-code.ts';
import type { Service } from './service/service.ts';
import { prepareAdoption } from './restart/keep-child.ts';
import { SignalRouter } from './signals.ts';
import { writeChildRecord } from './state/child-record.ts';
import { endOrphans, listenApi, openNotifySocket, openOwnedSockets, prepareStateDir, publishInfo, startLogFile } from './startup.ts';
import { statePaths, type SupervisorInfo } from './state/state-dir.ts';
import { Teardown } from './teardown.ts';
import { startReports } from './update/reports.ts';
import { VERSION } from './version.ts';
import { isoTime } from './iso-time.ts';

/** Where the supervisor writes, and who hears that it is up. */
export interface SupervisorIo {
  logger: Logger;
  stdout: Sink;
  stderr: Sink;
  /**
   * The log file behind `stdout`, `stderr` and the logger: started once the
   * state dir is ours and the platform says nothing else keeps our output.
   */
  logFile?: LogFile;
  /**
   * Called once the API listens and the service has been started;
   * `loginLink()` issues a one-time link to the status page.
   */
  onStarted?: (info: SupervisorInfo & { tokenPath: string; loginLink: () => string }) => void;
}

/** Runs the supervisor until the service ends or a stop signal arrives; returns the exit code. */
export async function runSupervisor(host: Host, config: Config, io: SupervisorIo): Promise<number> {
  const { logger } = io;
  const token = await prepareStateDir(host, config, logger);
  const platform = host.readPlatform();
  const logFile = startLogFile(host, config, platform, io.logFile);
  const startedAt = isoTime(host.clock.now());
  const events = new EventBus(() => host.clock.now());
  const teardown = new Teardown();
  try {
    const notifySocket = await openNotifySocket(host, config.stateDir, logger, teardown);
    // A self-updating install's child may outlive our re-exec: this image may have one to adopt.
    const adoption = await prepareAdoption(host, config, logger);
    const adopted = adoption?.adopted;
    const listeners = await openOwnedSockets(host, config, logger, teardown, { reusePort: adoption !== undefined, listen: adopted === undefined });
    const placement: Placement = {};
    const service = createService(host, config, io, { events, notifySocket, listeners, placement, adoption });
    const signals = new SignalRouter({ host, config, service, logger, events });
    teardown.add('always', () => signals.off());
    teardown.add('before-restart', async ({ keepChild }) => {
      const kept = keepChild ? await service.release() : undefined;
      if (kept === undefined) return service.stop('supervisor restart');
      // child.json must name the kept child: after a failed handoff it names the discarded candidate.
      await writeChildRecord(host, config.stateDir, kept);
    });
    const { selfRestarter, controller, updater } = composeRestarts(host, config, { platform, service, signals, events, teardown, placement, logger, flushLogs: () => io.logFile?.flush() ?? Promise.resolve(), adoptedPid: adopted?.pid });
    // Counting for /metrics starts before anything can restart the child or end an update.
    const reports = await startReports(host, config.updates?.report, { name: config.name, stateDir: config.stateDir, updater, events, teardown, logger });
    const recorder = recordMetrics({ service, bus: events, operation: updater === undefined ? undefined : (id) => updater.operation(id) });
    // Orphans first (they may still run an old release or a hook in staging),
    // then recovery, both before the API opens: no client sees a half-recovered
    // store. A self-update handed over to us resumes here: its gate watches the first child.
    await endOrphans(host, config, logger, adopted?.pid);
    await updater?.recover();
    signals.listen();
    await rotateMarkers(host, config.stateDir);
    await logStrategy(selfRestarter, platform, logger);
    const logins = new LoginCodes(() => host.clock.now());
    const auto = createAutoUpdater(host, config, { updater, events, teardown, logger });
    const api = createControlApi(host, config, { token, startedAt, service, controller, updater, auto, reports, events, recorder, logger, logins });
    const apiUrl = await listenApi(api, config, teardown);
    const info = await publishInfo(host, config, apiUrl, startedAt, platform, teardown, logger, logFile);
    logger.info({ apiUrl, stateDir: config.stateDir, version: VERSION, ...(logFile === undefined ? {} : { logFile }) }, 'outlast supervisor started');
    await updater?.prepareRelease();
    // A stop signal during a long first install means: do not start at all.
    if (signals.isStopping()) return await wrapUp(await signals.stopped, signals, teardown, logger);
    service.start(adopted);
    // Scheduled checks begin with the service: an apply restarts it, so it must be running first.
    auto?.start();
    io.onStarted?.({ ...info, tokenPath: statePaths(config.stateDir).token, loginLink: () => `${apiUrl}${logins.issue().path}` });
    return await wrapUp(await theEnd(host, config, service, signals, controller), signals, teardown, logger);
  } catch (err) {
    await teardown.atExit();
    throw err;
  }
}

/** Whichever ends supervision first: the service by its policy, a stop signal, or a self-restart that exits. */
async function theEnd(host: Host, config: Config, service: Service, signals: SignalRouter, controller: Controller): Promise<number> {
  const code = await Promise.race([service.done.then((exit) => exitCodeFor(exit)), signals.stopped, controller.selfRestarted]);
  await writeMarker(host, config.stateDir, 'exit', { code, restarting: controller.isSelfRestarting() });
  return code;
}

/** Logs the platform and the self-restart strategy it calls for. */
async function logStrategy(selfRestarter: SelfRestarter, platform: Platform, logger: Logger): Promise<void> {
  const choice = await selfRestarter.choice();
  logger.info({ platform: platform.kind, strategy: choice.name, why: choice.reason }, 'platform detected');
  if (choice.refused !== undefined) logger.warn({ refused: choice.refused }, 'configured restart strategy refused');
}

/** Lets go of everything, with the stop's last phase lines. */
async function wrapUp(exitCode: number, signals: SignalRouter, teardown: Teardown, logger: Logger): Promise<number> {
  logger.info({ ...signals.sinceStop() }, 'stop: cleanup (API, notify socket, supervisor.json)');
  await teardown.atExit();
  logger.info({ exitCode, ...signals.sinceStop() }, 'bye');
  return exitCode;
}
