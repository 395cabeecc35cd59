/** `outlast run`. */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import type { RunCommandFlags } from '../run.ts';

/** Registers `outlast run`. */
export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('supervise a service as its parent process')
    .argument('[command...]', 'the service command, after --')
    .option('-c, --config <file>', 'JSON config file')
    .option('--state-dir <dir>', 'state dir (default ./.outlast)')
    .option('--api-host <host>', 'control API address (default 127.0.0.1)')
    .option('--api-port <port>', 'control API port; 0 picks a free one (default 7070)')
    .option('--health-url <url>', 'HTTP readiness and health URL of the service')
    .option('--stop-timeout <duration>', 'drain budget between the stop signal and SIGKILL (ms, or with units: 30s)')
    .option('--name <name>', 'service name')
    .option('--restart <policy>', 'always | on-failure | never')
    .option('--log-level <level>', 'trace | debug | info | warn | error | fatal | silent')
    .option('--banner', 'print where the API and token are, with curl lines to try')
    .action(async (command: string[], flags: RunCommandFlags) => {
      // Loaded on use: the other commands need none of the supervisor.
      const { runCommand } = await import('../run.ts');
      ctx.setExit(await runCommand(ctx.host, { ...flags, command }));
    });
}
