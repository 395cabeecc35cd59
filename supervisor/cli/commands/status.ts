/** `outlast status` and `outlast restart`: the first client commands. */
import type { Command } from 'commander';
import type { ServiceStatus } from '../../service/service.ts';
import { connect } from '../client.ts';
import { NAME_HELP, output, type CliContext } from '../context.ts';
import { formatStatus } from '../format.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

type StatusAnswer = Parameters<typeof formatStatus>[0] & { service: ServiceStatus };

/** Registers `outlast status`. */
export function registerStatus(program: Command, ctx: CliContext): void {
  addTargetOptions(program.command('status').description('show the supervisor and service state').argument('[name]', NAME_HELP))
    .option('--json', 'print the API answer as JSON')
    .option('--url', 'print a one-time login link to the status page instead (valid 10 min, works once)')
    .action(async (name: string | undefined, flags: TargetFlags & { json?: boolean; url?: boolean }) => {
      const client = await connect(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      if (flags.url === true) {
        const link = await client.call<{ path: string; expiresAt: string }>('POST', '/login-links');
        const url = `${client.info.apiUrl}${link.path}`;
        return output(ctx, flags.json, { url, expiresAt: link.expiresAt }, `${url}\n`);
      }
      const status = await client.call<StatusAnswer>('GET', '/status');
      output(ctx, flags.json, status, formatStatus(status));
    });
}

/** Registers `outlast restart`. */
export function registerRestart(program: Command, ctx: CliContext): void {
  addTargetOptions(program.command('restart').description('gracefully restart the service (or, with --self, the supervisor)').argument('[name]', NAME_HELP))
    .option('--self', 'restart the supervisor itself with the strategy `outlast doctor` shows')
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string | undefined, flags: TargetFlags & { self?: boolean; json?: boolean }) => {
      const client = await connect(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      const target = flags.self === true ? 'supervisor' : 'service';
      const answer = await client.call<{ accepted: boolean; strategy?: string }>('POST', '/restart', { target });
      const text = target === 'supervisor' ? `supervisor restart requested (strategy ${answer.strategy ?? 'unknown'}); see: outlast why\n` : 'restart requested: the service is being restarted gracefully\n';
      output(ctx, flags.json, answer, text);
    });
}
