/**
 * The entry of `outlast run` (bin/outlast.js picks it for argv[0] === "run").
 * The supervisor keeps every module it loads for as long as it lives, so
 * this path parses run's few flags itself instead of loading commander and
 * every other command. Anything it does not take for certain (--help, an
 * unknown option, a missing value) goes to the full CLI, which answers it
 * exactly as before.
 */
import { toOutlastError } from '../errors.ts';
import { createNodeHost } from '../host/node-host.ts';
import type { RunCommandFlags } from './run.ts';

/** The value options of `outlast run`, by spelling, with their flag name. */
const VALUE_OPTIONS: Readonly<Record<string, keyof RunCommandFlags>> = {
  '-c': 'config',
  '--config': 'config',
  '--state-dir': 'stateDir',
  '--api-host': 'apiHost',
  '--api-port': 'apiPort',
  '--health-url': 'healthUrl',
  '--stop-timeout': 'stopTimeout',
  '--name': 'name',
  '--restart': 'restart',
  '--log-level': 'logLevel',
};

/**
 * run's flags from `args` (what follows "run"), the way commander reads
 * them (a repeated option: the last wins); undefined when the full CLI
 * should answer instead.
 */
export function parseRunArgs(args: readonly string[]): RunCommandFlags | undefined {
  const flags: Record<string, unknown> = {};
  const command: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      command.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      command.push(arg);
      continue;
    }
    if (arg === '--banner') {
      flags.banner = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const key = VALUE_OPTIONS[name];
    if (key === undefined) return undefined;
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    // A value that looks like an option is commander's call (it errors or takes it).
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    flags[key] = value;
  }
  return { ...(flags as RunCommandFlags), command };
}

/** The process entry of `outlast run`: the one place on this path that calls process.exit. */
export async function cli(): Promise<void> {
  const flags = parseRunArgs(process.argv.slice(3));
  if (flags === undefined) return (await import('./main.ts')).cli();
  const host = createNodeHost((code) => process.exit(code));
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let code: number;
  try {
    const { runCommand } = await import('./run.ts');
    code = await runCommand(host, flags);
  } catch (err) {
    // As the full CLI words it (main.ts); run has no --json.
    const error = toOutlastError(err);
    if (error.code === 'INTERNAL') process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.stderr.write(`outlast: ${error.message}\n`);
    code = error.exitCode;
  }
  host.exit(code);
}
