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
import { OutlastError } from '../errors.ts';
import type { Host, HostClock } from '../host/host.ts';
import type { RequestedStrategy } from '../restart/config.ts';
import { readWatchdogLock, watchdogPidfile } from '../restart/watchdog.ts';
import { findRunningSupervisor, type SupervisorInfo } from '../state/state-dir.ts';
import type { DoctorInput, UnitFacts } from './input.ts';
import { scanJournal, type JournalScan } from './journal.ts';
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
  /** Whether the config has an `updates` block. */
  updates?: boolean;
  /** `updates.selfUpdate`; when missing, detected from the supervisor's entry (inside `<stateDir>/current/` or `releases/`). */
  selfUpdate?: boolean;
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
  const reading = target === undefined ? undefined : unitFacts(guarded, target, timeoutMs);
  const [unit, journal, watchdog, entry] = await Promise.all([
    reading,
    target === undefined || reading === undefined ? undefined : journalOf(guarded, target, reading, timeoutMs),
    bounded(clock, readWatchdogLock(host, watchdogPidfile(stateDir)), timeoutMs, { pidfile: watchdogPidfile(stateDir), running: false }),
    supervisor === undefined ? deps.selfEntry : bounded(clock, entryOf(host, supervisor.pid), timeoutMs, undefined),
  ]);
  return {
    platform,
    subject: supervisor === undefined ? { kind: 'self' } : { kind: 'supervisor', pid: supervisor.pid },
    ...(unit === undefined ? {} : { unit }),
    stopBudgetMs: options.stopBudgetMs,
    updates: options.updates === true,
    selfUpdate: options.updates === true && (options.selfUpdate ?? (entry !== undefined && [`${stateDir}/current/`, `${stateDir}/releases/`].some((dir) => entry.startsWith(dir)))),
    requested: options.requested,
    force: options.force,
    watchdog,
    ...(entry === undefined ? {} : { outlastEntry: entry }),
    ...(journal === undefined ? {} : { journal }),
  };
}

/**
 * The unit's journal, scanned at once in the guessed scope; scanned again in
 * the other one when that is the manager that knew the unit.
 */
async function journalOf(deps: DoctorDeps, target: UnitTarget, reading: Promise<UnitFacts>, timeoutMs: number): Promise<JournalScan> {
  const guessed = scanJournal(target.name, target.scope, deps.journalctl, timeoutMs);
  const unit = await reading;
  if (unit.scope === target.scope) return guessed;
  return scanJournal(target.name, unit.scope, deps.journalctl, timeoutMs);
}

/** The first state dir with a running supervisor. */
async function findSupervisor(host: Host, stateDirs: readonly string[]): Promise<{ stateDir: string; info: SupervisorInfo } | undefined> {
  for (const stateDir of new Set(stateDirs)) {
    const info = await findRunningSupervisor(host, stateDir);
    if (info !== undefined) return { stateDir, info };
  }
  return undefined;
}

/** The unit to read; `mayFallBack` when its scope is a guess, not `--user`. */
type UnitTarget = Pick<UnitFacts, 'name' | 'scope' | 'source'> & { mayFallBack: boolean };

function unitTarget(platform: Platform, options: GatherOptions): UnitTarget | undefined {
  const detected = platform.systemd;
  const mayFallBack = options.user !== true;
  if (options.unit !== undefined) {
    const scope = options.user === true || (detected?.unit === options.unit && detected.scope === 'user') ? 'user' : 'system';
    return { name: options.unit, scope, source: 'flag', mayFallBack };
  }
  if (detected?.unit === null || detected?.unit === undefined) return undefined;
  return { name: detected.unit, scope: options.user === true ? 'user' : detected.scope, source: 'cgroup', mayFallBack };
}

async function unitFacts(deps: DoctorDeps, target: UnitTarget, timeoutMs: number): Promise<UnitFacts> {
  const guessed = await unitFactsIn(deps, target, target.scope, timeoutMs);
  if (!target.mayFallBack || guessed.properties.ok || !guessed.fallBack) return strip(guessed);
  // The scope came from the cgroup path, which names user@UID.service only
  // under the usual layout: a nested manager or another slice layout puts a
  // user unit where a system one would be. The other manager may know it.
  const other = await unitFactsIn(deps, target, target.scope === 'system' ? 'user' : 'system', timeoutMs);
  if (!other.properties.ok) {
    return strip({ ...guessed, properties: { ok: false, reason: `${guessed.properties.reason}; as a ${other.scope} unit: ${other.properties.reason}` } });
  }
  return { ...strip(other), scopeFallback: { guessed: target.scope, reason: guessed.properties.reason } };
}

type Attempt = UnitFacts & { fallBack: boolean };

/** The unit's properties and file in one manager; `fallBack` when that manager could not say, so another may. */
async function unitFactsIn(deps: DoctorDeps, target: UnitTarget, scope: 'system' | 'user', timeoutMs: number): Promise<Attempt> {
  const [properties, file] = await Promise.all([
    readSystemdProperties(target.name, { scope, timeoutMs, run: deps.systemctl }).then(
      (value) => ({ ok: true as const, value, fallBack: false }),
      (err: unknown) => ({
        ok: false as const,
        reason: err instanceof Error ? err.message : String(err),
        // Not a timeout (a hung manager would double doctor's wait) and not a
        // missing systemctl: a manager that answered "no" or is not there.
        fallBack: err instanceof OutlastError && (err.code === 'NOT_FOUND' || err.code === 'INTERNAL'),
      }),
    ),
    readUnitFile(target.name, scope, deps.systemctl, timeoutMs),
  ]);
  const { fallBack, ...read } = properties;
  return { name: target.name, source: target.source, scope, properties: read, file, fallBack };
}

function strip({ fallBack: _fallBack, ...facts }: Attempt): UnitFacts {
  return facts;
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
