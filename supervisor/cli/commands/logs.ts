/**
 * `outlast logs [NAME] [-f] [-n N]`: the supervisor's and its service's
 * output, read where this platform keeps it: journald, svlogd, or the
 * supervisor's own `<state>/logs/outlast.log` on a bare run. The supervisor
 * records where it ran (`<state>/logs/source.json`) each time it starts, so
 * this works for a stopped supervisor too.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { OutlastError } from '../../errors.ts';
import { logFilePath } from '../../log/log-place.ts';
import { followFile, readLastLines } from '../../log/log-tail.ts';
import { lastRegistrationPath, parseEntry, type RegistryEntry } from '../../state/registry.ts';
import { NAME_HELP, type CliContext } from '../context.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

interface LogsFlags extends TargetFlags {
  follow?: boolean;
  lines: string;
}

/** Where a supervisor's logs are read from: a command that prints them, or outlast's own log file. */
export type LogSource = { kind: 'command'; file: string; args: string[] } | { kind: 'file'; path: string };

/**
 * The reader for a supervisor's logs, from its record: the log file it says
 * it wrote; else journald for a unit, runit's svlogd on Termux; else (a
 * record from before log files) `<stateDir>/logs/outlast.log`.
 */
export function logSource(entry: Pick<RegistryEntry, 'name' | 'platform' | 'stateDir'>, env: Readonly<Record<string, string | undefined>>, lines: number, follow: boolean): LogSource {
  const { unit, logFile } = entry.platform;
  if (logFile !== undefined) return { kind: 'file', path: logFile };
  if (unit !== undefined) {
    return { kind: 'command', file: 'journalctl', args: [...(unit.scope === 'user' ? ['--user'] : []), '-u', unit.name, '-n', String(lines), '--no-pager', ...(follow ? ['-f'] : [])] };
  }
  if (entry.platform.kind === 'termux' && env.PREFIX !== undefined) {
    // runit's svlogd, as `outlast install termux` sets it up.
    return { kind: 'command', file: 'tail', args: ['-n', String(lines), ...(follow ? ['-F'] : []), join(env.PREFIX, 'var', 'log', 'sv', entry.name, 'current')] };
  }
  return { kind: 'file', path: logFilePath(entry.stateDir) };
}

/** How often `-f` looks for new lines in the log file. */
const FOLLOW_POLL_MS = 200;

/** Prints the last `lines` of the log file and, with `follow`, what is written after, until a stop signal. */
async function readLogFile(ctx: CliContext, path: string, lines: number, follow: boolean): Promise<void> {
  const { host } = ctx;
  const last = await readLastLines(host.fs, path, lines);
  if (!last.found && !follow) throw new OutlastError('NOT_FOUND', `there is no log file at ${path} yet: the supervisor writes it once it runs`);
  if (last.lines.length > 0) ctx.print(last.lines.join(''));
  if (!follow) return;
  // Following ends cleanly (exit 0, as `tail -F` stopped with Ctrl-C reads to a person) on a stop signal.
  const stop = new AbortController();
  const offs = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => host.onSignal(signal, () => stop.abort()));
  try {
    const emit = (text: string): void => {
      ctx.print(text);
      // Like tail's SIGPIPE: the write after the reader left (its EPIPE comes after the write that hit it) ends following.
      if (ctx.stdoutClosed?.() === true) stop.abort();
    };
    await followFile(path, last.position, { fs: host.fs, clock: host.clock, emit, signal: stop.signal, pollMs: FOLLOW_POLL_MS });
  } finally {
    for (const off of offs) off();
  }
}

/** Runs the platform's reader (journalctl, tail), passing a stop on to it. */
async function runReader(ctx: CliContext, file: string, args: string[]): Promise<void> {
  const { host } = ctx;
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
      const source = logSource(recorded, host.env, lines, flags.follow === true);
      if (source.kind === 'file') await readLogFile(ctx, source.path, lines, flags.follow === true);
      else await runReader(ctx, source.file, source.args);
    });
}
