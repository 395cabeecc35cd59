/**
 * `outlast status` without the CLI: bin/outlast.js calls this before it loads
 * commander, zod and the full Host, so a status check costs about two Node
 * start-ups instead of seven. It answers only the plain forms (`status`,
 * `--json`, `--state-dir DIR`) against a supervisor that answers 200; for
 * anything else it returns undefined and the entry runs the full CLI, which
 * then prints exactly what it always did (usage, NOT_RUNNING, API errors).
 * The printed text is the full command's: same formatter, same JSON.
 */
import { resolve } from 'node:path';
import { clientHost, type ClientHost } from '../host/client-host.ts';
import { STATE_DIR_ENV } from '../state/orphans.ts';
import { connect } from './client.ts';
import { formatStatus } from './format.ts';

/** The flags of a plain `status`, or undefined when argv asks for more than the fast path answers. */
export function plainStatusArgs(argv: readonly string[]): { json: boolean; stateDir: string | undefined } | undefined {
  if (argv[0] !== 'status') return undefined;
  let json = false;
  let stateDir: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--state-dir' && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) stateDir = argv[++i];
    else if (arg.startsWith('--state-dir=') && arg.length > '--state-dir='.length) stateDir = arg.slice('--state-dir='.length);
    else return undefined;
  }
  return { json, stateDir };
}

/** The state dir `status` addresses: resolved as resolveTarget does for these flags. */
function stateDirOf(stateDir: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (stateDir !== undefined) return resolve(cwd, stateDir);
  const fromEnv = env[STATE_DIR_ENV];
  return resolve(cwd, fromEnv !== undefined && fromEnv !== '' ? fromEnv : '.outlast');
}

/**
 * The text `outlast status` prints for `argv`, or undefined when the fast
 * path does not answer it (the caller then runs the full CLI). Never throws.
 */
export async function quickStatus(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string, host: ClientHost = clientHost()): Promise<string | undefined> {
  const args = plainStatusArgs(argv);
  if (args === undefined) return undefined;
  try {
    const client = await connect(host, stateDirOf(args.stateDir, env, cwd));
    const status = await client.call<Parameters<typeof formatStatus>[0]>('GET', '/status');
    return args.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status);
  } catch {
    // The full CLI repeats the (read-only) request and reports the failure properly.
    return undefined;
  }
}
