/** `outlast ls`: the supervisors running on this machine, as the per-user registry knows them. */
import type { Command } from 'commander';
import type { ServiceStatus } from '../../service/service.ts';
import { readRegistry, type RegistryEntry } from '../../state/registry.ts';
import { connect } from '../client.ts';
import { output, type CliContext } from '../context.ts';

/** One row of `outlast ls`. */
export interface LsRow {
  name: string;
  pid: number;
  /** The service's state, or `unreachable` when its API did not answer. */
  state: string;
  /** The service's release version where updates are configured, else the supervisor's. */
  version: string;
  api: string;
  stateDir: string;
  /** Why the API did not answer, when it did not. */
  error?: string;
}

interface StatusAnswer {
  service: ServiceStatus & { version?: string | null };
  supervisor: { version: string };
}

async function rowOf(ctx: CliContext, entry: RegistryEntry): Promise<LsRow> {
  const row = { name: entry.name, pid: entry.pid, api: entry.apiUrl, stateDir: entry.stateDir };
  try {
    const client = await connect(ctx.host, entry.stateDir, 3000);
    const status = await client.call<StatusAnswer>('GET', '/status');
    return { ...row, state: status.service.state, version: status.service.version ?? status.supervisor.version };
  } catch (err) {
    return { ...row, state: 'unreachable', version: entry.version, error: (err as Error).message };
  }
}

/** The rows as a table a person reads. */
export function formatLs(rows: readonly LsRow[]): string {
  if (rows.length === 0) return 'no outlast supervisor is running for this user\n';
  const table = [['NAME', 'PID', 'STATE', 'VERSION', 'API'], ...rows.map((r) => [r.name, String(r.pid), r.state, r.version, r.api])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  return table.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** Registers `outlast ls`. */
export function registerLs(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list the supervisors running on this machine, with name, pid, state, version and API')
    .option('--json', 'print the list as JSON')
    .action(async (flags: { json?: boolean }) => {
      const rows = await Promise.all((await readRegistry(ctx.host)).map((entry) => rowOf(ctx, entry)));
      output(ctx, flags.json, rows, formatLs(rows));
    });
}
