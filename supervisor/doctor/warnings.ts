/**
 * The checks of `outlast doctor`, one function each. Each looks at the
 * gathered input and the chosen strategy, and returns its warnings; a code
 * is reported once, by the first check that finds it.
 */
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import type { StrategyChoice } from '../restart/choose.ts';
import { strategyHazard } from '../restart/hazards.ts';
import { seconds, STOP_HEADROOM_MS } from '../install/input.ts';
import type { DoctorInput, DoctorWarning } from './input.ts';

type Check = (input: DoctorInput, strategy: StrategyChoice, unit: SystemdUnitProperties | undefined) => DoctorWarning[];

/** The unit SIGKILLs before the drain budget plus headroom is over. */
const stopTimeout: Check = (input, _strategy, unit) => {
  if (unit === undefined || !('us' in unit.timeoutStop)) return [];
  const needMs = input.stopBudgetMs + STOP_HEADROOM_MS;
  const haveMs = unit.timeoutStop.us / 1000;
  if (haveMs >= needMs) return [];
  return [
    {
      code: 'STOP_TIMEOUT_TOO_SHORT',
      message: `${input.unit?.name ?? 'the unit'} has TimeoutStopSec=${haveMs / 1000}s, below the drain budget (service.stopTimeoutMs ${input.stopBudgetMs} ms) + ${STOP_HEADROOM_MS / 1000} s: systemd will SIGKILL mid-drain`,
      fix: `set TimeoutStopSec=${seconds(needMs)}s in the unit (regenerate it with \`outlast install systemd\`), or lower service.stopTimeoutMs`,
    },
  ];
};

/** The configured strategy was refused, or the chosen one would still die here. */
const strategyHazards: Check = (input, strategy, unit) => {
  const warnings: DoctorWarning[] = [];
  if (strategy.refused !== undefined && strategy.hazard !== undefined) {
    warnings.push({ code: strategy.hazard.code, message: `${strategy.refused}; using ${strategy.name} instead`, fix: strategy.hazard.fix });
  }
  const hazard = strategyHazard(input.platform, unit, strategy.name);
  if (hazard !== undefined) {
    warnings.push({ code: hazard.code, message: `the ${strategy.name} strategy is in use, but ${hazard.message}`, fix: hazard.fix });
  }
  return warnings;
};

/** A container whose PID 1 neither reaps orphans nor forwards signals. */
const pid1WithoutInit: Check = ({ platform }) => {
  const container = platform.container;
  if (platform.kind !== 'container' || container === undefined || container.hasInit) return [];
  const fix = 'run the container with an init: `docker run --init`, `init: true` in compose, or ENTRYPOINT ["/usr/bin/tini", "--"]';
  if (container.pid1) {
    return [
      {
        code: 'PID1_WITHOUT_INIT',
        message: 'outlast runs as PID 1 without an init: processes orphaned by the service become zombies that nobody reaps',
        fix,
      },
    ];
  }
  const pid1 = platform.evidence.find((line) => line.includes('not a known init'))?.replace(/^container: /, '');
  if (pid1 === undefined) return [];
  return [
    {
      code: 'PID1_WITHOUT_INIT',
      message: `${pid1}: a shell or an agent as PID 1 may neither forward SIGTERM (the stop then takes the full timeout and ends in SIGKILL) nor reap zombies`,
      fix: `${fix}, with outlast in exec-form CMD`,
    },
  ];
};

/** Termux without the watchdog safety net, and a watchdog strategy without a watchdog. */
const watchdog: Check = ({ platform, watchdog }, strategy) => {
  if (watchdog.running) return [];
  const where = watchdog.pid === undefined ? `no pidfile at ${watchdog.pidfile}` : `pid ${watchdog.pid} from ${watchdog.pidfile} is gone`;
  if (platform.kind === 'termux') {
    return [
      {
        code: 'TERMUX_NO_WATCHDOG',
        message: `no watchdog is running (${where}): when Android kills outlast, nothing brings it back`,
        fix: 'start it at boot: `outlast install termux` writes a Termux:Boot script that starts the service and the watchdog',
      },
    ];
  }
  if (strategy.name !== 'watchdog') return [];
  return [
    {
      code: 'WATCHDOG_NOT_RUNNING',
      message: `the watchdog strategy is in use but no watchdog is running (${where}): a restart would be final`,
      fix: `start it: scripts/watchdog-loop.sh --daemon --lock ${watchdog.pidfile.replace(/\/pid$/, '')} --health-url <outlast's /health> …, or choose another selfRestart.strategy`,
    },
  ];
};

/** Android 12+ kills "phantom" processes of apps: Termux's children count. */
const phantomKiller: Check = ({ platform }) => {
  if (platform.kind !== 'termux') return [];
  const version = platform.termux?.androidVersion;
  const major = version === undefined ? undefined : Number.parseInt(version, 10);
  if (major !== undefined && !Number.isNaN(major) && major < 12) return [];
  const on = version === undefined ? 'if this is Android 12 or later (the version is unreadable)' : `on Android ${version}`;
  return [
    {
      code: 'ANDROID_PHANTOM_KILLER',
      message: `${on}, the phantom process killer SIGKILLs Termux's child processes beyond 32 across all apps, or when they use much CPU, with no log in Termux`,
      fix:
        'Android 14+: Developer options > "Disable child process restrictions". Android 12-13 over adb: ' +
        '`adb shell "/system/bin/device_config set_sync_disabled_for_tests persistent; /system/bin/device_config put activity_manager max_phantom_processes 2147483647"`; ' +
        'also exempt Termux from battery optimisation and hold `termux-wake-lock`',
    },
  ];
};

/** Without process.execve the supervisor cannot re-exec in place. */
const noExecve: Check = ({ platform }, strategy) => {
  if (platform.execve) return [];
  return [
    {
      code: 'NO_EXECVE',
      message: `Node ${platform.node} has no process.execve (Node >= 22.15): the supervisor restarts itself with ${strategy.name} instead of re-exec in place`,
      fix: 'run outlast on Node >= 22.15 (Node 24 LTS recommended)',
    },
  ];
};

/** The unit file does not start the outlast that runs, or systemd has not reloaded it. */
const staleUnitFile: Check = ({ unit, outlastEntry }) => {
  if (unit === undefined || !unit.file.ok) return [];
  const problems: string[] = [];
  const fixes: string[] = [];
  const user = unit.scope === 'user' ? ' --user' : '';
  const entry = unit.file.execStart.find((arg) => /(^|\/)outlast(\.js)?$/.test(arg));
  if (outlastEntry !== undefined && entry !== undefined && entry !== outlastEntry) {
    problems.push(`${unit.name}'s ExecStart runs ${entry}, but the outlast in use is ${outlastEntry}`);
    fixes.push(`regenerate the unit with \`outlast install systemd${user}\``);
  }
  if (unit.file.needDaemonReload) {
    problems.push(`${unit.file.fragmentPath || unit.name} changed on disk since systemd loaded it, so the running unit has the old settings`);
    fixes.push(`run \`systemctl${user} daemon-reload\` and restart ${unit.name}`);
  }
  if (problems.length === 0) return [];
  return [{ code: 'STALE_UNIT_FILE', message: problems.join('; '), fix: fixes.join(', then ') }];
};

/** systemctl did not answer: the checks that need the unit's properties were skipped. */
const unitUnreadable: Check = ({ unit }) => {
  if (unit === undefined || unit.properties.ok) return [];
  return [
    {
      code: 'UNIT_UNREADABLE',
      message: `cannot read ${unit.name}'s properties (${unit.properties.reason}): the KillMode and TimeoutStopSec checks were skipped`,
      fix: `check that \`systemctl ${unit.scope === 'user' ? '--user ' : ''}show ${unit.name}\` answers`,
    },
  ];
};

/** The manager strategy exits 75, and this unit would not restart on it. */
const managerExit: Check = (_input, strategy, unit) => {
  if (strategy.name !== 'manager' || unit?.restart === undefined) return [];
  const restarts = unit.restart === 'always' || unit.restart === 'on-failure' || unit.restartForceExitStatus?.statuses.includes(75) === true;
  if (restarts) return [];
  return [
    {
      code: 'MANAGER_EXIT_NOT_RESTARTED',
      message: `Restart=${unit.restart} without 75 in RestartForceExitStatus: an exit 75 would stop the unit, so restarts go through a transient systemd-run unit instead`,
      fix: 'add RestartForceExitStatus=75 and SuccessExitStatus=75 (as `outlast install systemd` generates)',
    },
  ];
};

/** The journal shows the unit being SIGKILLed. */
const journalKills: Check = ({ journal }) => {
  if (journal?.ok !== true || (journal.sigkill.count === 0 && journal.stopTimeout.count === 0)) return [];
  const parts = [];
  if (journal.stopTimeout.count > 0) parts.push(`the stop timed out and systemd SIGKILLed it ${journal.stopTimeout.count} time(s) (last ${journal.stopTimeout.last ?? '?'})`);
  if (journal.sigkill.count > 0) parts.push(`its main process died of SIGKILL ${journal.sigkill.count} time(s) (last ${journal.sigkill.last ?? '?'})`);
  return [
    {
      code: 'JOURNAL_SIGKILLS',
      message: `in the last 30 days ${parts.join(', and ')}${journal.complete ? '' : ' (journal cut off at the deadline: at least this many)'}`,
      fix: 'make the service exit on SIGTERM within service.stopTimeoutMs (`outlast audit` finds missing handlers and keepalive loops), and keep TimeoutStopSec above the budget + 30 s',
    },
  ];
};

/** Updates inside a Kubernetes pod: the orchestrator owns rollouts, and the pod's image is the release. */
const orchestratorUpdates: Check = ({ platform, updates }) => {
  if (updates !== true || platform.container?.runtime !== 'kubernetes') return [];
  return [
    {
      code: 'UPDATES_UNDER_ORCHESTRATOR',
      message:
        'updates are configured inside a Kubernetes pod: a release outlast installs lives only as long as the pod, the next pod starts from the image again, and a rollout of the Deployment and an outlast update race each other',
      fix: 'leave the `updates` block out of the image\'s config and ship new versions as new images (outlast install kubernetes)',
    },
  ];
};

/**
 * Self-update: only reexec keeps the service across the supervisor's own
 * restart (the new image adopts the child); and a release whose supervisor
 * cannot start at all, which the start probe may miss (it dies later, or
 * only under the platform), can only be rescued from outside.
 */
const selfUpdate: Check = ({ selfUpdate: on, watchdog }, strategy, unit) => {
  if (on !== true) return [];
  const warnings: DoctorWarning[] = [];
  if (strategy.name !== 'reexec') {
    warnings.push({
      code: 'SELF_UPDATE_RESTARTS_SERVICE',
      message: `a self-update restarts the supervisor with ${strategy.name}, which cannot keep the service: the service stops and starts again with it (only reexec adopts the running child)`,
      fix: strategy.name === 'detached' || strategy.name === 'watchdog' ? 'nothing to fix on this platform (a new process cannot inherit the child); expect a service restart at each self-update' : 'use selfRestart.strategy reexec where the platform allows it (Node >= 22.15)',
    });
  }
  const rescued = watchdog.running || strategy.name === 'manager' || (unit?.restart !== undefined && unit.restart !== 'no');
  if (!rescued) {
    warnings.push({
      code: 'SELF_UPDATE_WITHOUT_RESCUE',
      message: 'self-update is on without a watchdog or a service manager that restarts outlast: a release whose supervisor cannot start at all leaves nothing running, and nothing outside to start the old one',
      fix: 'run outlast under a manager that restarts it (`outlast install systemd` sets Restart=always; a container restart policy), or start the watchdog (scripts/watchdog-loop.sh --daemon …)',
    });
  }
  return warnings;
};

const CHECKS: readonly Check[] = [orchestratorUpdates, stopTimeout, strategyHazards, pid1WithoutInit, watchdog, phantomKiller, noExecve, staleUnitFile, unitUnreadable, managerExit, journalKills, selfUpdate];

/** Runs every check; a code is reported once, by the first check that finds it. */
export function collectWarnings(input: DoctorInput, strategy: StrategyChoice, unit: SystemdUnitProperties | undefined): DoctorWarning[] {
  const seen = new Set<string>();
  return CHECKS.flatMap((check) => check(input, strategy, unit)).filter((warning) => {
    if (seen.has(warning.code)) return false;
    seen.add(warning.code);
    return true;
  });
}
