/**
 * The steps of `outlast run` that touch the outside before the service
 * starts: the state dir, the sockets, what a killed predecessor left behind,
 * the API's port and supervisor.json. Each step that opens something hands
 * its release to the Teardown.
 */
import { isLoopback } from './api/auth.ts';
import type { ApiServer } from './api/server.ts';
import type { Config } from './config/schema.ts';
import { OutlastError } from './errors.ts';
import type { Host } from './host/host.ts';
import type { Platform } from '../platform/platform.ts';
import { registerSupervisor, registeredPlatform, unregisterSupervisor } from './state/registry.ts';
import type { LogFile } from './log/log-file.ts';
import { keepsOwnLogFile, logFilePath, parentCommand } from './log/log-place.ts';
import type { Logger } from './log/logger.ts';
import { listenReadySocket, type ReadySocket } from './notify/ready-socket.ts';
import { openListeners, type ListenOptions, type Listeners } from './service/listeners.ts';
import { stopForeign } from './service/stop.ts';
import { findOrphans } from './state/orphans.ts';
import { clearSupervisorInfo, ensureStateDir, ensureToken, findRunningSupervisor, writeSupervisorInfo, type SupervisorInfo } from './state/state-dir.ts';
import type { Teardown } from './teardown.ts';
import { VERSION } from './version.ts';
import { join } from 'node:path';

/** Creates the state dir, refuses a second supervisor on it, and returns the API token; warns once about deprecated config keys. */
export async function prepareStateDir(host: Host, config: Config, logger: Logger): Promise<string> {
  for (const deprecation of config.deprecations ?? []) logger.warn({ deprecation }, deprecation);
  await ensureStateDir(host, config.stateDir);
  const running = await findRunningSupervisor(host, config.stateDir);
  if (running !== undefined) {
    throw new OutlastError('ALREADY_RUNNING', `another outlast (pid ${running.pid}) is running with state dir ${config.stateDir}`, {
      details: { pid: running.pid, apiUrl: running.apiUrl },
    });
  }
  const token = await ensureToken(host, config.stateDir);
  if (!isLoopback(config.api.host)) logger.warn({ host: config.api.host }, 'the control API listens beyond loopback; every route but /health needs the token');
  return token;
}

/** The socket services send READY=1 and STATUS= to; a path too long for a unix socket costs only that feature. */
export async function openNotifySocket(host: Host, stateDir: string, logger: Logger, teardown: Teardown): Promise<ReadySocket | undefined> {
  try {
    const socket = await listenReadySocket(host, join(stateDir, 'notify.sock'));
    teardown.add('at-exit', () => socket.close());
    socket.on('message', (message) => {
      if (message.status !== undefined) logger.info({ status: message.status, childPid: message.pid }, 'service status');
    });
    return socket;
  } catch (err) {
    logger.warn({ err }, 'no notify socket: services cannot report readiness with ready()');
    return undefined;
  }
}

/**
 * Binds the sockets of `service.listen`, if any; a port in use is a clear
 * error. `options` come from keep-child.ts: SO_REUSEPORT where a re-exec may
 * keep the child, and bound-only beside a child just adopted.
 */
export async function openOwnedSockets(host: Host, config: Config, logger: Logger, teardown: Teardown, options: ListenOptions = {}): Promise<Listeners | undefined> {
  const specs = config.service.listen;
  if (specs === undefined) return undefined;
  try {
    const listeners = await openListeners(host, specs, options);
    teardown.add('at-exit', () => listeners.close());
    logger.info({ sockets: specs.map((s) => `${s.host}:${s.port}`), fds: listeners.fds.length }, 'owning the listening sockets: restarts hand them over');
    return listeners;
  } catch (err) {
    throw new OutlastError('ADDRESS_IN_USE', `cannot own the service's sockets (service.listen): ${(err as Error).message}`, { cause: err });
  }
}

/** Ends what a SIGKILLed predecessor left behind, so two copies never serve at once; never the group of the child adopted (`keepGroup`). */
export async function endOrphans(host: Host, config: Config, logger: Logger, keepGroup?: number): Promise<void> {
  const orphans = await findOrphans(host, config.stateDir, keepGroup);
  if (orphans.length === 0) return;
  logger.warn({ orphans: orphans.map((o) => o.pid) }, 'a previous supervisor left its service running: stopping it');
  const forced = await stopForeign(host, orphans, config.service.stopSignal, config.service.stopTimeoutMs);
  if (forced > 0) logger.warn({ forced }, 'orphaned processes did not stop within budget: SIGKILLed');
}

function apiUrlOf(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/** Opens the API; returns its URL. */
export async function listenApi(api: ApiServer, config: Config, teardown: Teardown): Promise<string> {
  teardown.add('always', () => api.close());
  try {
    await api.listen({ host: config.api.host, port: config.api.port });
    const address = api.server.address();
    if (address === null || typeof address === 'string') throw new Error('the API has no TCP address');
    return apiUrlOf(address.address, address.port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new OutlastError('ADDRESS_IN_USE', `API port ${config.api.host}:${config.api.port} is in use; pick another with --api-port (0 = any free port)`, { cause: err });
    }
    throw new OutlastError('INTERNAL', `cannot start the API on ${config.api.host}:${config.api.port}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Starts the log file when nothing else keeps this supervisor's output (see
 * log-place.ts), or drops it; returns its path. Only now, with the state dir
 * ours: a second supervisor refused on it never touches the first one's file.
 */
export function startLogFile(host: Host, config: Config, platform: Platform, logFile: LogFile | undefined): string | undefined {
  if (logFile === undefined) return undefined;
  if (!keepsOwnLogFile(platform, parentCommand(host))) {
    logFile.discard();
    return undefined;
  }
  const path = logFilePath(config.stateDir);
  logFile.open({ path, maxBytes: config.log.maxBytes, keep: config.log.keep });
  return path;
}

/** Writes supervisor.json (how clients find us), removed on either way out. */
export async function publishInfo(host: Host, config: Config, apiUrl: string, startedAt: string, platform: Platform, teardown: Teardown, logger: Logger, logFile?: string): Promise<SupervisorInfo> {
  const info: SupervisorInfo = { pid: host.pid, apiUrl, startedAt, version: VERSION, name: config.name };
  teardown.add('always', () => clearSupervisorInfo(host, config.stateDir));
  await writeSupervisorInfo(host, config.stateDir, info);
  teardown.add('always', () => unregisterSupervisor(host));
  await registerSupervisor(host, { name: config.name, stateDir: config.stateDir, apiUrl, version: VERSION, startedAt, platform: registeredPlatform(platform, logFile) }, logger);
  return info;
}
