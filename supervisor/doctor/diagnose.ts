/**
 * `outlast doctor` as a pure function: from what was gathered about the
 * platform, the unit, the config and the journal, to the strategy and the
 * warnings. Gathering (with its timeouts) is gather.ts; printing is format.ts.
 */
import type { Platform } from '../../platform/platform.ts';
import type { SystemdUnitProperties } from '../../platform/systemd-properties.ts';
import { chooseStrategy, type StrategyChoice } from '../restart/choose.ts';
import type { DoctorInput, DoctorWarning, UnitFacts } from './input.ts';
import type { JournalScan } from './journal.ts';
import { collectWarnings } from './warnings.ts';

export type { DoctorInput, DoctorWarning, UnitFacts, WatchdogFacts } from './input.ts';

/** What `outlast doctor` reports. */
export interface DoctorReport {
  platform: Platform;
  subject: DoctorInput['subject'];
  unit?: {
    name: string;
    /** The manager that answered: see scopeFallback when it is not the platform's guess. */
    scope: 'system' | 'user';
    scopeFallback?: UnitFacts['scopeFallback'];
    properties?: SystemdUnitProperties;
    fragmentPath?: string;
    execStart?: string[];
  };
  strategy: StrategyChoice;
  warnings: DoctorWarning[];
  journal?: JournalScan;
}

/** Diagnoses the inputs. Pure: the same input gives the same report. */
export function diagnose(input: DoctorInput): DoctorReport {
  const unitProperties = input.unit?.properties.ok === true ? input.unit.properties.value : undefined;
  const strategy = chooseStrategy(input.platform, unitProperties, input.requested, input.force);
  const report: DoctorReport = {
    platform: input.platform,
    subject: input.subject,
    strategy,
    warnings: collectWarnings(input, strategy, unitProperties),
  };
  if (input.unit !== undefined) {
    const { name, scope, file, scopeFallback } = input.unit;
    report.unit = {
      name,
      scope,
      ...(scopeFallback === undefined ? {} : { scopeFallback }),
      ...(unitProperties === undefined ? {} : { properties: unitProperties }),
      ...(file.ok ? { fragmentPath: file.fragmentPath, execStart: file.execStart } : {}),
    };
  }
  if (input.journal !== undefined) report.journal = input.journal;
  return report;
}
