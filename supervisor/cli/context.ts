/**
 * What every CLI command receives: the Host, the output functions, and a way
 * to set the process exit code. Commands throw OutlastError for failures; the
 * entry turns them into messages and exit codes.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Host } from '../host/host.ts';

/** Shared by all commands. */
export interface CliContext {
  host: Host;
  print: (text: string) => void;
  printError: (text: string) => void;
  setExit: (code: number) => void;
}

/** The `--state-dir` option of the client commands. */
export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'state dir of the supervisor to talk to').default('.outlast');
}

/** The absolute state dir from the option's value. */
export function stateDirOf(ctx: CliContext, value: string): string {
  return resolve(ctx.host.cwd, value);
}

/** Prints `value` as JSON or as `text`. */
export function output(ctx: CliContext, json: boolean | undefined, value: unknown, text: string): void {
  ctx.print(json === true ? `${JSON.stringify(value, null, 2)}\n` : text);
}
