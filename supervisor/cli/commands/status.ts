/** `outlast status` and `outlast restart`: the first client commands. */
import type { Command } from 'commander';
import type { ServiceStatus } from '../../service/service.ts';
import { connect } from '../client.ts';
import { output, stateDirOf, stateDirOption, type CliContext } from '../context.ts';
import { formatStatus } from '../format.ts';

type StatusAnswer = Parameters<typeof formatStatus>[0] & { service: ServiceStatus };

/** Registers `outlast status`. */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show the supervisor and service state')
    .addOption(stateDirOption())
    .option('--json', 'print the API answer as JSON')
    .action(async (flags: { stateDir: string; json?: boolean }) => {
      const client = await connect(ctx.host, stateDirOf(ctx, flags.stateDir));
      const status = await client.call<StatusAnswer>('GET', '/status');
      output(ctx, flags.json, status, formatStatus(status));
    });
}

/** Registers `outlast restart`. */
export function registerRestart(program: Command, ctx: CliContext): void {
  program
    .command('restart')
    .description('gracefully restart the service (or, with --self, the supervisor)')
    .option('--self', 'restart the supervisor itself with the strategy `outlast doctor` shows')
    .addOption(stateDirOption())
    .option('--json', 'print the API answer as JSON')
    .action(async (flags: { self?: boolean; stateDir: string; json?: boolean }) => {
      const client = await connect(ctx.host, stateDirOf(ctx, flags.stateDir));
      const target = flags.self === true ? 'supervisor' : 'service';
      const answer = await client.call<{ accepted: boolean; strategy?: string }>('POST', '/restart', { target });
      const text = target === 'supervisor' ? `supervisor restart requested (strategy ${answer.strategy ?? 'unknown'}); see: outlast why\n` : 'restart requested: the service is being restarted gracefully\n';
      output(ctx, flags.json, answer, text);
    });
}
