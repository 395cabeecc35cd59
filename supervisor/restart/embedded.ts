/**
 * `outlast/restart`: for a Node service that embeds outlast instead of
 * running under `outlast run`, and restarts itself (after an update it applied
 * itself, as the field system did). It uses the same platform detection,
 * chooser, strategies and markers as the supervisor, so the restart survives
 * the platform's kill window:
 *
 *   import { restartSelf } from 'outlast/restart';
 *   const { exitCode } = await restartSelf({ stateDir: '.outlast', reason: 'updated', quiesce: () => closeServer() });
 *   process.exit(exitCode);   // reached only by strategies that exit (not reexec)
 */
import { hostRunner } from '../../platform/systemctl-runner.ts';
import { readSystemdProperties } from '../../platform/systemd-properties.ts';
import { createNodeHost } from '../host/node-host.ts';
import { ensureStateDir } from '../state/state-dir.ts';
import type { RequestedStrategy, StrategyName } from './config.ts';
import { SelfRestarter } from './self-restart.ts';
import { UpdateLock } from '../update/lock.ts';
import { createLogger } from '../log/logger.ts';
import { safeSink } from '../log/safe-sink.ts';

/** Options of {@link restartSelf}. */
export interface RestartSelfOptions {
  /** Where the lock, the markers and the helper's log live. */
  stateDir: string;
  reason: string;
  /** Stops what the process serves (close servers, flush) before it is replaced or exits. */
  quiesce: () => Promise<void>;
  strategy?: RequestedStrategy;
  force?: boolean;
  /** detached: the kill window to wait out (15 s on Termux by default). */
  delayMs?: number;
}

/**
 * Restarts this process with the strategy the platform calls for. With
 * reexec it does not return (the image is replaced, same pid); otherwise it
 * resolves with the exit code the caller must exit with, after `quiesce`.
 */
export async function restartSelf(options: RestartSelfOptions): Promise<{ exitCode: number; strategy: StrategyName }> {
  const host = createNodeHost(() => {
    throw new Error('outlast/restart never exits the process itself: exit with the returned code');
  });
  await ensureStateDir(host, options.stateDir);
  const platform = host.readPlatform();
  const logger = createLogger({ level: 'info', sink: safeSink(process.stderr), pid: host.pid, base: { name: 'outlast/restart' } });
  const restarter = new SelfRestarter({
    host,
    logger,
    stateDir: options.stateDir,
    lock: new UpdateLock(host, options.stateDir, (err) => logger.error({ err }, 'the restart lock was compromised')),
    platform,
    unitProperties: async () => {
      const unit = platform.systemd?.unit;
      if (unit === undefined || unit === null) return undefined;
      return readSystemdProperties(unit, { scope: platform.systemd?.scope ?? 'system', timeoutMs: 1500, run: hostRunner(host, 'systemctl') }).catch(() => undefined);
    },
    requested: options.strategy ?? 'auto',
    force: options.force ?? false,
    delayMs: options.delayMs,
    retries: 3,
    quiesce: options.quiesce,
  });
  const outcome = await restarter.restart(options.reason);
  return { exitCode: Math.max(0, outcome.exitCode), strategy: outcome.strategy };
}
