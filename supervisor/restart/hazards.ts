/**
 * What would kill each restart strategy on a given platform. The chooser
 * refuses a configured strategy with a hazard, and `doctor` reports the same
 * hazard under the same code, so the two never disagree.
 */
import type { Platform } from '../../platform/platform.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import type { StrategyName } from './config.ts';

/** Why a strategy would not survive here, as `doctor` prints it. */
export interface Hazard {
  code: 'NO_EXECVE' | 'ANDROID_KILLS_EXECVE' | 'KILLMODE_KILLS_STRATEGY' | 'PID1_EXIT_KILLS_NAMESPACE' | 'NOTHING_RESTARTS';
  message: string;
  fix: string;
  /** Not a risk but an impossibility: even `selfRestart.force` cannot choose it. */
  impossible?: boolean;
}

// PID 1s that exit when their one child exits (and so end the namespace), as
// opposed to service managers (s6, runit, systemd) that outlive their children.
const INITS_THAT_EXIT_WITH_CHILD = new Set(['tini', 'tini-static', 'dumb-init', 'docker-init', 'podman-init', 'catatonit']);

/** The hazard of `strategy` on this platform, or undefined when it survives here. */
export function strategyHazard(platform: Platform, unit: SystemdUnitProperties | undefined, strategy: StrategyName): Hazard | undefined {
  switch (strategy) {
    case 'reexec':
      return reexecHazard(platform);
    case 'detached':
    case 'watchdog':
      return outliveHazard(platform, unit, strategy);
    case 'manager':
      return managerHazard(platform);
  }
}

function reexecHazard(platform: Platform): Hazard | undefined {
  if (!platform.execve) {
    return {
      code: 'NO_EXECVE',
      message: `Node ${platform.node} has no process.execve (it arrived in Node 22.15), so the supervisor cannot re-exec in place`,
      fix: 'run outlast on Node >= 22.15 (Node 24 LTS recommended)',
      impossible: true,
    };
  }
  if (platform.kind === 'termux') {
    // Field failure 1: the new image was SIGKILLed sub-millisecond by the
    // top-app cgroup, before its first line ran.
    return {
      code: 'ANDROID_KILLS_EXECVE',
      message: "Android SIGKILLs a process that execve()s in place in the app's cgroup (top-app, uid_/pid_), before its first line runs",
      fix: 'use selfRestart.strategy "detached" (the default on Termux) with the watchdog as safety net',
    };
  }
  return undefined;
}

/** detached and watchdog both need a process that outlives the supervisor's exit. */
function outliveHazard(platform: Platform, unit: SystemdUnitProperties | undefined, strategy: StrategyName): Hazard | undefined {
  const what = strategy === 'detached' ? 'the detached restarter' : 'a watchdog started from the supervisor';
  const container = platform.container;
  if (container !== undefined && (container.pid1 || (container.initName !== undefined && INITS_THAT_EXIT_WITH_CHILD.has(container.initName)))) {
    const pid1 = container.pid1 ? 'we are PID 1' : `PID 1 (${container.initName ?? 'the init'}) exits with its child`;
    return {
      code: 'PID1_EXIT_KILLS_NAMESPACE',
      message: `in a container ${pid1}: when PID 1 exits the kernel SIGKILLs every process in the PID namespace, ${what} included`,
      fix: 'use selfRestart.strategy "reexec" (PID 1 keeps its PID), or "manager" with a restart policy (restart: unless-stopped)',
    };
  }
  // systemd traces under Termux were copied in (see platform/detect.ts): no unit kills us there.
  if (platform.systemd !== undefined && platform.kind !== 'termux') {
    const killMode = unit?.killMode;
    if (killMode === undefined || killMode === 'control-group' || killMode === 'mixed') {
      // setsid() leaves the session, not the cgroup: when the main PID exits,
      // systemd stops the unit and kills what is left in its cgroup.
      const mode = killMode === undefined ? "the unit's KillMode is unknown, and systemd's default (control-group)" : `KillMode=${killMode}`;
      return {
        code: 'KILLMODE_KILLS_STRATEGY',
        message: `${mode} kills every process left in the unit's cgroup once the main PID exits, ${what} included: setsid does not leave the cgroup`,
        fix: 'use selfRestart.strategy "reexec" (keeps the MainPID) or "manager" (exit 75 with RestartForceExitStatus=75, as `outlast install systemd` generates)',
      };
    }
  }
  return undefined;
}

function managerHazard(platform: Platform): Hazard | undefined {
  const managed = platform.kind === 'systemd' || platform.kind === 'container';
  if (managed) return undefined;
  return {
    code: 'NOTHING_RESTARTS',
    message: `on ${platform.kind} no service manager restarts an exiting supervisor: exit 75 would be final`,
    fix: platform.kind === 'termux' ? 'use "detached" or "watchdog" on Termux' : 'use "reexec", or run outlast under systemd (`outlast install systemd`)',
  };
}
