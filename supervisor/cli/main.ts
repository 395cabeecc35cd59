/**
 * The CLI entry. It parses arguments, binds the real Host, runs one command,
 * and is the only place that ends the process.
 */
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { OutlastError, toOutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { createNodeHost } from '../host/node-host.ts';
import type { ServiceStatus } from '../service/service.ts';
import { VERSION } from '../version.ts';
import { connect } from './client.ts';
import { formatStatus } from './format.ts';
import { runCommand, type RunCommandFlags } from './run.ts';

type Print = (text: string) => void;

const stateDirOption = (): Option =>
  new Option('--state-dir <dir>', 'state dir of the supervisor to talk to').default('.outlast');

function buildProgram(host: Host, print: Print, setExit: (code: number) => void): Command {
  const program = new Command('outlast')
    .description('A self-update supervisor whose restarts survive the platform\'s kill window.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('run')
    .description('supervise a service as its parent process')
    .argument('[command...]', 'the service command, after --')
    .option('-c, --config <file>', 'JSON config file')
    .option('--state-dir <dir>', 'state dir (default ./.outlast)')
    .option('--api-host <host>', 'control API address (default 127.0.0.1)')
    .option('--api-port <port>', 'control API port; 0 picks a free one (default 7070)')
    .option('--health-url <url>', 'HTTP readiness and health URL of the service')
    .option('--stop-timeout <ms>', 'drain budget between the stop signal and SIGKILL')
    .option('--name <name>', 'service name')
    .option('--restart <policy>', 'always | on-failure | never')
    .option('--log-level <level>', 'trace | debug | info | warn | error | fatal | silent')
    .option('--banner', 'print where the API and token are, with curl lines to try')
    .action(async (command: string[], flags: RunCommandFlags) => {
      setExit(await runCommand(host, { ...flags, command }));
    });

  program
    .command('status')
    .description('show the supervisor and service state')
    .addOption(stateDirOption())
    .option('--json', 'print the API answer as JSON')
    .action(async (flags: { stateDir: string; json?: boolean }) => {
      const client = await connect(host, resolve(host.cwd, flags.stateDir));
      const status = await client.call<{ supervisor: { pid: number; version: string; startedAt: string; name: string }; service: ServiceStatus }>('GET', '/status');
      print(flags.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    });

  program
    .command('restart')
    .description('gracefully restart the service')
    .addOption(stateDirOption())
    .option('--json', 'print the API answer as JSON')
    .action(async (flags: { stateDir: string; json?: boolean }) => {
      const client = await connect(host, resolve(host.cwd, flags.stateDir));
      const answer = await client.call<{ accepted: boolean }>('POST', '/restart', { target: 'service' });
      print(flags.json === true ? `${JSON.stringify(answer)}\n` : 'restart requested: the service is being restarted gracefully\n');
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(host: Host, argv: readonly string[], print: Print, printError: Print): Promise<number> {
  let code = 0;
  const program = buildProgram(host, print, (c) => (code = c));
  program.configureOutput({ writeOut: print, writeErr: printError });
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 64.
      return err.exitCode === 0 ? 0 : 64;
    }
    const error = toOutlastError(err);
    if (error.code === 'INTERNAL') printError(`${(err as Error).stack ?? String(err)}\n`);
    printError(json ? `${JSON.stringify(error.toJSON())}\n` : `outlast: ${error.message}\n`);
    return error.exitCode;
  }
}

/** The process entry: the one place that calls process.exit. */
export async function cli(): Promise<void> {
  const host = createNodeHost((code) => process.exit(code));
  // A closed stdout/stderr must never crash the CLI either.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const code = await main(host, process.argv.slice(2), (t) => void process.stdout.write(t), (t) => void process.stderr.write(t));
  host.exit(code);
}

export { OutlastError };
