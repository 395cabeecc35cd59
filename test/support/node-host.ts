/**
 * The real Host for tests that drive real files, processes and sockets; its
 * exit throws, since only the CLI entry may end the process.
 */
import { createNodeHost } from '../../supervisor/host/node-host.ts';

/** The real Host, shared by a test file. */
export const nodeHost = createNodeHost((code) => {
  throw new Error(`exit(${code}) called in a test`);
});
