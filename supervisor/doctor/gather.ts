/**
 * Gathers what `diagnose` needs, with every external call bounded: doctor
 * must answer within 2 s even when systemctl or journalctl hang (a dead
 * D-Bus, a journal on a stalled disk). The systemctl and journalctl runs go
 * in parallel, each with its own hard timeout.
 */
import { join } from 'node:path';
import type { Platform } from '../../platform/platform.ts';
import { readSystemdProperties } from '../../platform/systemd-properties.ts';
import type { CommandOutcome, CommandRunner } from '../../platform/systemctl-runner.ts';
import type { Host, HostClock } from '../host/host.ts';
import type { RequestedStrategy } from '../restart/config.ts';
import { readWatchdogLock, watchdogPidfile } from '../restart/watchdog.ts';
import { findRunningSupervisor, type SupervisorInfo } from '../state/state-dir.ts';
import type { DoctorInput, UnitFacts } from './input.ts';
import { scanJournal } from './journal.ts';
import { readUnitFile } from './unit-file.ts';

/** The side effects of gathering. */
export interface DoctorDeps {
  host: Host;
  systemctl: CommandRunner;
  journalctl: CommandRunner;
  /** The platform of process `pid`, or of this process when undefined. */
  platformOf: (pid: number | undefined) => Platform;
  /** The outlast entry this process runs, for when no supervisor runs. */
  selfEntry: string;
}

/** What to look at. */
export interface GatherOptions {
  stateDir: string;
  /**
   * Where else a supervisor of this config may keep its state: a default
   * state dir is relative to the cwd `outlast run` was started in, which for
   * an installed unit is the config's dir, not the doctor's shell's.
   */
  otherStateDirs?: readonly string[];
  stopBudgetMs: number;
  requested: RequestedStrategy;
  force: boolean;
  /** A unit to look at instead of the one the supervisor runs in. */
  unit?: string;
  user?: boolean;
  /** The budget of each external call. */
  timeoutMs?: number;
}

// A runner is trusted to keep its own timeout; past it by this much, doctor
// stops waiting on it anyway (a runner that never answers must not hang us).
const RUNNER_GRACE_MS = 200;

/** Collects the doctor's input; never rejects for a tool that is missing, failing or hanging. */
export async function gatherDoctorInput(deps: DoctorDeps, options: GatherOptions): Promise<DoctorInput> {
  const { host } = deps;
  const { clock } = host;
  const timeoutMs = options.timeoutMs ?? 700;
  const guarded: DoctorDeps = { ...deps, systemctl: guard(clock, deps.systemctl), journalctl: guard(clock, deps.journalctl) };
  const found = await bounded(clock, findSupervisor(host, [options.stateDir, ...(options.otherStateDirs ?? [])]), timeoutMs, undefined);
  const supervisor = found?.info;
  const stateDir = found?.stateDir ?? options.stateDir;
  const platform = deps.platformOf(supervisor?.pid);
  const target = unitTarget(platform, options);
  const [unit, journal, watchdog, entry] = await Promise.all([
    target === undefined ? undefined : unitFacts(guarded, target, timeoutMs),
    target === undefined ? undefined : scanJournal(target.name, target.scope, guarded.journalctl, timeoutMs),
    bounded(clock, readWatchdogLock(host, watchdogPidfile(stateDir)), timeoutMs, { pidfile: watchdogPidfile(stateDir), running: false }),
    supervisor === undefined ? deps.selfEntry : bounded(clock, entryOf(host, supervisor.pid), timeoutMs, undefined),
  ]);
  return {
    platform,
    subject: supervisor === undefined ? { kind: 'self' } : { kind: 'supervisor', pid: supervisor.pid },
    ...(unit === undefined ? {} : { unit }),
    stopBudgetMs: options.stopBudgetMs,
    requested: options.requested,
    force: options.force,
    watchdog,
    ...(entry === undefined ? {} : { outlastEntry: entry }),
    ...(journal === undefined ? {} : { journal }),
  };
}

/** The first state dir with a running supervisor. */
async function findSupervisor(host: Host, stateDirs: readonly string[]): Promise<{ stateDir: string; info: SupervisorInfo } | undefined> {
  for (const stateDir of new Set(stateDirs)) {
    const info = await findRunningSupervisor(host, stateDir);
    if (info !== undefined) return { stateDir, info };
  }
  return undefined;
}

function unitTarget(platform: Platform, options: GatherOptions): Pick<UnitFacts, 'name' | 'scope' | 'source'> | undefined {
  const detected = platform.systemd;
  if (options.unit !== undefined) {
    const scope = options.user === true || (detected?.unit === options.unit && detected.scope === 'user') ? 'user' : 'system';
    return { name: options.unit, scope, source: 'flag' };
  }
  if (detected?.unit === null || detected?.unit === undefined) return undefined;
  return { name: detected.unit, scope: options.user === true ? 'user' : detected.scope, source: 'cgroup' };
}

async function unitFacts(deps: DoctorDeps, target: Pick<UnitFacts, 'name' | 'scope' | 'source'>, timeoutMs: number): Promise<UnitFacts> {
  const [properties, file] = await Promise.all([
    readSystemdProperties(target.name, { scope: target.scope, timeoutMs, run: deps.systemctl }).then(
      (value) => ({ ok: true as const, value }),
      (err: unknown) => ({ ok: false as const, reason: err instanceof Error ? err.message : String(err) }),
    ),
    readUnitFile(target.name, target.scope, deps.systemctl, timeoutMs),
  ]);
  return { ...target, properties, file };
}

/** The outlast entry in a running supervisor's command line, made absolute with its cwd. */
async function entryOf(host: Host, pid: number): Promise<string | undefined> {
  const argv = (await host.fs.readFile(`/proc/${pid}/cmdline`)).split('\0');
  const entry = argv.slice(1).find((arg) => /(^|\/)outlast(\.js)?$/.test(arg));
  if (entry === undefined || entry.startsWith('/')) return entry;
  const cwd = await host.fs.readlink(`/proc/${pid}/cwd`);
  return cwd === undefined ? undefined : join(cwd, entry);
}

/** `run`, answering timed-out when it overruns its own timeout. */
function guard(clock: HostClock, run: CommandRunner): CommandRunner {
  const timedOut: CommandOutcome = { kind: 'timed-out' };
  return (args, timeoutMs) => bounded(clock, run(args, timeoutMs), timeoutMs + RUNNER_GRACE_MS, timedOut);
}

/** `promise`, or `fallback` after `ms` or on failure. */
async function bounded<T, F>(clock: HostClock, promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  const stop = new AbortController();
  const late = clock.sleep(ms, stop.signal).then(
    () => fallback,
    () => fallback,
  );
  try {
    return await Promise.race([promise.catch(() => fallback), late]);
  } finally {
    stop.abort();
  }
}
