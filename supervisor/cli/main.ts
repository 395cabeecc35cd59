/**
 * The CLI entry. It parses arguments, binds the real Host, runs one command,
 * and is the only place that ends the process.
 */
import { Command, CommanderError } from 'commander';
import { OutlastError, toOutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { createNodeHost } from '../host/node-host.ts';
import { VERSION } from '../version.ts';
import { registerAudit, registerDoctor, registerInit, registerInstall, registerLogs, registerLs, registerRelease, registerRestart, registerRun, registerStatus, registerStop, registerUpdates, registerWhy } from './commands/index.ts';
import type { CliContext } from './context.ts';

/** Every command, in the order `--help` lists them. */
const COMMANDS: Array<(program: Command, ctx: CliContext) => void> = [registerRun, registerLs, registerStatus, registerRestart, registerStop, registerLogs, registerUpdates, registerRelease, registerDoctor, registerInstall, registerInit, registerAudit, registerWhy];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('outlast')
    .description("A self-update supervisor whose restarts survive the platform's kill window.")
    .version(VERSION, '-v, --version')
    // Program options only before the command: `release pack --version V`
    // must reach the command, not print outlast's own version.
    .enablePositionalOptions()
    .showHelpAfterError()
    // One width on every terminal: `outlast --help` is answered from
    // bin/help.txt by the entry, and must read the same as this program's.
    .configureHelp({ helpWidth: 80 })
    .exitOverride();
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(host: Host, argv: readonly string[], print: (t: string) => void, printError: (t: string) => void, stdoutClosed?: () => boolean): Promise<number> {
  let code = 0;
  const program = buildProgram({ host, print, printError, setExit: (c) => (code = c), ...(stdoutClosed === undefined ? {} : { stdoutClosed }) });
  program.configureOutput({ writeOut: print, writeErr: printError });
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 64
      // (commander has printed the human line already).
      if (err.exitCode === 0) return 0;
      if (json) print(`${JSON.stringify(new OutlastError('BAD_REQUEST', err.message.replace(/^error: /, '')).toJSON())}\n`);
      return 64;
    }
    const error = toOutlastError(err);
    if (error.code === 'INTERNAL') printError(`${(err as Error).stack ?? String(err)}\n`);
    // With --json a script reads stdout: the error goes there as JSON, and
    // the human line to stderr.
    if (json) print(`${JSON.stringify(error.toJSON())}\n`);
    printError(`outlast: ${error.message}\n`);
    return error.exitCode;
  }
}

/** The process entry: the one place that calls process.exit. */
export async function cli(): Promise<void> {
  const host = createNodeHost((code) => process.exit(code));
  // A closed stdout/stderr must never crash the CLI either.
  let stdoutClosed = false;
  process.stdout.on('error', () => (stdoutClosed = true));
  process.stderr.on('error', () => undefined);
  const code = await main(host, process.argv.slice(2), (t) => void process.stdout.write(t), (t) => void process.stderr.write(t), () => stdoutClosed);
  host.exit(code);
}
