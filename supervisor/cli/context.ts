/**
 * What every CLI command receives: the Host, the output functions, and a way
 * to set the process exit code. Commands throw OutlastError for failures; the
 * entry turns them into messages and exit codes.
 */
import type { Host } from '../host/host.ts';

/** Shared by all commands. */
export interface CliContext {
  host: Host;
  print: (text: string) => void;
  printError: (text: string) => void;
  setExit: (code: number) => void;
  /** True once stdout's reader has gone away (`outlast logs -f | head`): a command that would print forever stops. */
  stdoutClosed?: () => boolean;
}

/** The help text of the NAME operand of the addressed commands. */
export const NAME_HELP = 'the supervisor\'s name, as `outlast ls` lists it (works from any directory)';

/** Prints `value` as JSON or as `text`. */
export function output(ctx: CliContext, json: boolean | undefined, value: unknown, text: string): void {
  ctx.print(json === true ? `${JSON.stringify(value, null, 2)}\n` : text);
}
