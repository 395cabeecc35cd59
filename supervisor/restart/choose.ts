/**
 * Which restart strategy the supervisor uses for its own restarts. The
 * automatic choice is the table below, one row per platform kind; a strategy
 * forced in config is honoured unless the platform would kill it.
 */
import type { Platform, PlatformKind } from '../../platform/platform.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import type { RequestedStrategy, StrategyName } from './config.ts';
import { strategyHazard, type Hazard } from './hazards.ts';

/** The chosen strategy and why; `refused` says why the configured one was not taken. */
export interface StrategyChoice {
  name: StrategyName;
  reason: string;
  refused?: string;
  /** What threatens the configured strategy: why it was refused, or what `force` overrode. */
  hazard?: Hazard;
}

interface Row {
  strategy: StrategyName;
  why: string;
  /** When Node has no process.execve. */
  withoutExecve: { strategy: StrategyName; why: string };
}

// The chooser, as a table. Every `why` is what `outlast doctor` prints.
const TABLE: Record<PlatformKind, Row> = {
  container: {
    strategy: 'reexec',
    why: "keep our PID: when PID 1 exits (we, or an init whose child we are) the kernel kills the whole PID namespace",
    withoutExecve: {
      strategy: 'manager',
      why: "exit 75 and let the runtime's restart policy start the container again; a detached helper would die with the namespace",
    },
  },
  systemd: {
    strategy: 'reexec',
    why: 'execve keeps the MainPID: no cgroup kill, and NRestarts stays unchanged',
    withoutExecve: {
      strategy: 'manager',
      why: "exit 75 (RestartForceExitStatus=75) or a transient systemd-run unit outside our cgroup; a detached helper dies in the unit's cgroup",
    },
  },
  termux: {
    strategy: 'detached',
    why: "Android SIGKILLs an in-place execve in the app's cgroup; a setsid helper starts the new process after the kill window, with the watchdog as safety net",
    withoutExecve: {
      strategy: 'detached',
      why: 'a setsid helper starts the new process after the kill window, with the watchdog as safety net',
    },
  },
  bare: {
    strategy: 'reexec',
    why: 'execve keeps the PID, so whatever started us still has its child',
    withoutExecve: {
      strategy: 'detached',
      why: 'no service manager would restart an exit, so a setsid helper starts the new process',
    },
  },
};

/** The strategy the platform calls for. */
export function automaticStrategy(platform: Platform): StrategyChoice {
  const row = TABLE[platform.kind];
  if (platform.execve) return { name: row.strategy, reason: `${platform.kind}: ${row.why}` };
  const { strategy, why } = row.withoutExecve;
  if (strategy === row.strategy) return { name: strategy, reason: `${platform.kind}: ${why}` };
  return { name: strategy, reason: `${platform.kind} without process.execve (Node ${platform.node}): ${why}` };
}

/**
 * Chooses the strategy. `requested` comes from `selfRestart.strategy`; a forced
 * strategy with a hazard is refused (falling back to the automatic choice)
 * unless `force`, and an impossible one is refused even then.
 */
export function chooseStrategy(
  platform: Platform,
  unit: SystemdUnitProperties | undefined,
  requested: RequestedStrategy,
  force: boolean,
): StrategyChoice {
  const auto = automaticStrategy(platform);
  if (requested === 'auto' || requested === auto.name) {
    return requested === 'auto' ? auto : { ...auto, reason: `selfRestart.strategy=${requested}, as the platform calls for (${auto.reason})` };
  }
  const hazard = strategyHazard(platform, unit, requested);
  if (hazard === undefined) return { name: requested, reason: `selfRestart.strategy=${requested} in config` };
  if (force && hazard.impossible !== true) {
    return { name: requested, reason: `selfRestart.strategy=${requested} forced by selfRestart.force, although ${hazard.message}`, hazard };
  }
  const unless = hazard.impossible === true ? '' : '; set selfRestart.force to use it anyway';
  return { ...auto, refused: `selfRestart.strategy=${requested} refused: ${hazard.message}${unless}`, hazard };
}
