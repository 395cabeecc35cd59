/**
 * The top-level help text as the program prints it, for bin/help.txt (the
 * entry answers `outlast --help` from that file, before any import).
 */
import type { Host } from '../host/host.ts';
import { buildProgram } from './main.ts';

/** commander's help for `outlast` itself. No command runs, so the Host is never used. */
export function topLevelHelp(): string {
  const unused = new Proxy({}, { get: () => { throw new Error('the help text needs no Host'); } }) as Host;
  const program = buildProgram({ host: unused, print: () => undefined, printError: () => undefined, setExit: () => undefined });
  return program.helpInformation();
}
