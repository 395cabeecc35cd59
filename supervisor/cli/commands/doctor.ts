/** `outlast doctor`: the platform, the restart strategy and why, and what would kill the service. */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { readPlatformOf } from '../../../platform/read-platform.ts';
import { hostRunner } from '../../../platform/systemctl-runner.ts';
import { loadConfig, parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { diagnose } from '../../doctor/diagnose.ts';
import { formatDoctor } from '../../doctor/format.ts';
import { gatherDoctorInput } from '../../doctor/gather.ts';
import type { Host } from '../../host/host.ts';
import { outlastEntry } from '../../install/paths.ts';
import type { ResidentReport } from '../../resident.ts';
import { connect } from '../client.ts';
import { output, type CliContext } from '../context.ts';

/** The exit code of `doctor --strict` when the report has warnings. */
export const DOCTOR_WARNINGS_EXIT = 81;

interface DoctorFlags {
  json?: boolean;
  strict?: boolean;
  config?: string;
  stateDir?: string;
  unit?: string;
  user?: boolean;
}

/**
 * The config to check: the file's, or the defaults when there is none. A
 * default state dir is relative to where `outlast run` started: here, or, for
 * an installed unit, the config's own dir; both are returned.
 */
async function doctorConfig(host: Host, flags: DoctorFlags): Promise<{ config: Config; otherStateDirs: string[] }> {
  if (flags.config !== undefined) {
    const config = await loadConfig(host.fs, host.cwd, { config: flags.config, stateDir: flags.stateDir });
    if (flags.stateDir !== undefined) return { config, otherStateDirs: [] };
    const path = resolve(host.cwd, flags.config);
    const installed = await loadConfig(host.fs, dirname(path), { config: path });
    return { config, otherStateDirs: [installed.stateDir] };
  }
  // Without a file, doctor checks the defaults; this command is never run.
  const defaults = { service: { command: ['-'] }, ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }) };
  return { config: parseConfig(defaults, host.cwd, 'defaults'), otherStateDirs: [] };
}

/**
 * What the running supervisor (in the first of `stateDirs` that has one) holds in memory (`GET
 * /resident`), or `{error}` saying why it could not be asked: the rest of
 * the report stands either way.
 */
async function residentOf(host: Host, stateDirs: readonly string[]): Promise<ResidentReport | { error: string }> {
  let problem = 'no running supervisor answered';
  for (const stateDir of stateDirs) {
    try {
      const client = await connect(host, stateDir, 5_000);
      return await client.call<ResidentReport>('GET', '/resident');
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  return { error: problem };
}

/** Registers `outlast doctor`. */
export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('explain the platform and the restart strategy, and warn about what would kill the service')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', 'JSON config file (for the stop budget, the state dir and selfRestart.strategy)')
    .option('--state-dir <dir>', 'state dir of the supervisor to look at (default ./.outlast)')
    .option('--unit <name>', 'the systemd unit to check, when the supervisor does not run in it right now')
    .option('--user', 'the unit is a user unit (systemctl --user)')
    .option('--strict', `exit ${DOCTOR_WARNINGS_EXIT} when there is any warning, so CI can gate on it`)
    .action(async (flags: DoctorFlags) => {
      const { config, otherStateDirs } = await doctorConfig(ctx.host, flags);
      const input = await gatherDoctorInput(
        {
          host: ctx.host,
          systemctl: hostRunner(ctx.host, 'systemctl'),
          journalctl: hostRunner(ctx.host, 'journalctl'),
          platformOf: (pid) => (pid === undefined ? ctx.host.readPlatform() : readPlatformOf(pid)),
          selfEntry: outlastEntry(),
        },
        {
          stateDir: config.stateDir,
          otherStateDirs,
          stopBudgetMs: config.service.stopTimeoutMs,
          updates: config.updates !== undefined,
          ...(config.updates?.selfUpdate === undefined ? {} : { selfUpdate: config.updates.selfUpdate }),
          requested: config.selfRestart.strategy,
          force: config.selfRestart.force,
          ...(flags.unit === undefined ? {} : { unit: flags.unit }),
          ...(flags.user === undefined ? {} : { user: flags.user }),
        },
      );
      const report = diagnose(input);
      // Only the running supervisor knows what it holds: asked over its API, for --json.
      const resident = flags.json === true && input.subject.kind === 'supervisor' ? await residentOf(ctx.host, [config.stateDir, ...otherStateDirs]) : undefined;
      output(ctx, flags.json, resident === undefined ? report : { ...report, resident }, formatDoctor(report));
      if (flags.strict === true && report.warnings.length > 0) {
        ctx.printError(`outlast doctor --strict: ${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'} (${report.warnings.map((w) => w.code).join(', ')})\n`);
        ctx.setExit(DOCTOR_WARNINGS_EXIT);
      }
    });
}
