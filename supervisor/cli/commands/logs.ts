/**
 * `outlast logs [NAME] [-f] [-n N]`: the supervisor's and its service's
 * output, read where this platform keeps it. The supervisor records where it
 * ran (`<state>/logs/source.json`) each time it starts, so this works for a
 * stopped supervisor too.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { OutlastError } from '../../errors.ts';
import { lastRegistrationPath, parseEntry, type RegistryEntry } from '../../state/registry.ts';
import { NAME_HELP, type CliContext } from '../context.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

interface LogsFlags extends TargetFlags {
  follow?: boolean;
  lines: string;
}

/** The reader for a supervisor's logs: a command and its arguments. */
export function logReader(entry: Pick<RegistryEntry, 'name' | 'platform'>, env: Readonly<Record<string, string | undefined>>, lines: number, follow: boolean): { file: string; args: string[] } {
  const unit = entry.platform.unit;
  if (unit !== undefined) {
    return { file: 'journalctl', args: [...(unit.scope === 'user' ? ['--user'] : []), '-u', unit.name, '-n', String(lines), '--no-pager', ...(follow ? ['-f'] : [])] };
  }
  if (entry.platform.kind === 'termux' && env.PREFIX !== undefined) {
    // runit's svlogd, as `outlast install termux` sets it up.
    return { file: 'tail', args: ['-n', String(lines), ...(follow ? ['-F'] : []), join(env.PREFIX, 'var', 'log', 'sv', entry.name, 'current')] };
  }
  throw new OutlastError(
    'NOT_SUPPORTED',
    `${entry.name} runs bare (${entry.platform.kind}): outlast writes its and the service's output to its own stdout and stderr, not to a file; redirect them, or run it under systemd or runit (outlast install systemd|termux)`,
  );
}

/** Registers `outlast logs`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  addTargetOptions(program.command('logs').description("show the supervisor's and the service's logs, from where the platform keeps them").argument('[name]', NAME_HELP))
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'how many of the last lines to print', '50')
    .option('--json', 'errors as JSON on stdout')
    .action(async (name: string | undefined, flags: LogsFlags) => {
      const lines = Number(flags.lines);
      if (!Number.isInteger(lines) || lines < 0) throw new OutlastError('BAD_REQUEST', `-n needs a whole number of lines, not "${flags.lines}"`);
      const { host } = ctx;
      const target = await resolveTarget(host, name, flags);
      const recorded = target.entry ?? parseEntry(await host.fs.readFile(lastRegistrationPath(target.stateDir)).catch(() => ''));
      if (recorded === undefined) {
        throw new OutlastError('NOT_FOUND', `no supervisor has run with state dir ${target.stateDir} yet, so there is no record of where its logs are`);
      }
      const { file, args } = logReader(recorded, host.env, lines, flags.follow === true);
      const env = Object.fromEntries(Object.entries(host.env).filter((e): e is [string, string] => e[1] !== undefined));
      const child = host.spawn(file, args, { cwd: host.cwd, env, detached: false, stdio: 'pipe' });
      child.stdout?.on('data', (chunk: Buffer) => ctx.print(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => ctx.printError(chunk.toString()));
      // A stop of `outlast logs -f` (Ctrl-C, a SIGTERM) is passed on: the reader must not outlive us.
      const offs = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) =>
        host.onSignal(signal, () => {
          if (child.pid !== undefined) host.kill(child.pid, signal);
        }),
      );
      const exit = await child.exited;
      for (const off of offs) off();
      if (exit.kind === 'spawn-failed') throw new OutlastError('NOT_SUPPORTED', `cannot read the logs (${exit.errno}): ${exit.message}`);
      if (exit.kind === 'exited' && exit.code !== 0) ctx.setExit(exit.code);
    });
}
