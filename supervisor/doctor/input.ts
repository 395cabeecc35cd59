/**
 * What `diagnose` decides from: the facts gather.ts collects, as plain data.
 */
import type { Platform } from '../../platform/platform.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import type { RequestedStrategy } from '../restart/config.ts';
import type { JournalScan } from './journal.ts';
import type { UnitFile } from './unit-file.ts';

/** The unit outlast runs in (or was told to look at), with what systemctl said of it. */
export interface UnitFacts {
  name: string;
  scope: 'system' | 'user';
  /** Where the name came from. */
  source: 'flag' | 'cgroup';
  properties: { ok: true; value: SystemdUnitProperties } | { ok: false; reason: string };
  file: UnitFile;
  /**
   * Set when the manager of the guessed scope could not read the unit and the
   * other one (`scope`) did: the guess, and what its manager answered.
   */
  scopeFallback?: { guessed: 'system' | 'user'; reason: string };
}

/** The watchdog loop, as its pidfile tells. */
export interface WatchdogFacts {
  pidfile: string;
  /** The pid in the pidfile, when there is one. */
  pid?: number;
  /** The pid is alive. */
  running: boolean;
}

/** Everything `diagnose` decides from. */
export interface DoctorInput {
  platform: Platform;
  /** Whose platform: the running supervisor's (seen through /proc) or this process's. */
  subject: { kind: 'supervisor'; pid: number } | { kind: 'self' };
  unit?: UnitFacts;
  /** `service.stopTimeoutMs`: the drain budget between the stop signal and SIGKILL. */
  stopBudgetMs: number;
  /** Whether the config has an `updates` block. */
  updates?: boolean;
  /** Whether the releases hold the supervisor itself (self-update). */
  selfUpdate?: boolean;
  requested: RequestedStrategy;
  force: boolean;
  watchdog: WatchdogFacts;
  /** The outlast entry (bin/outlast.js) that runs, to compare with the unit's ExecStart. */
  outlastEntry?: string;
  journal?: JournalScan;
}

/** One finding: a stable code, what is wrong, and how to fix it. */
export interface DoctorWarning {
  code: string;
  message: string;
  fix: string;
}
