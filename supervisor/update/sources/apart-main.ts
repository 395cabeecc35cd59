/**
 * The child process of apart.ts: `node apart-main.js`, in the supervisor's
 * cwd and environment, its request (an ApartRequest as JSON) the first line
 * on stdin. Builds the source with createSource and the real Host, prints
 * `{"ready":true}`, runs the one list or fetch, and prints JSON lines:
 * warnings, log lines and progress as they come, then the entries, `done`,
 * or the error. Should stdin end before that (the supervisor is gone), it
 * kills its own process group: itself, GNU tar, git.
 */
import module from 'node:module';
import type { ApartLine, ApartRequest } from './apart.ts';

// First, so the modules below load through the on-disk compile cache
// bin/outlast.js uses: this child starts at every list and fetch.
module.enableCompileCache?.();
const [{ OutlastError }, { createNodeHost }, { createSource }, { gnuTarOf }] = await Promise.all([
  import('../../errors.ts'),
  import('../../host/node-host.ts'),
  import('./create.ts'),
  import('../gnu-tar.ts'),
]);

/** Progress goes out at most this often (and at the end): the supervisor throttles its events further. */
const PROGRESS_EVERY_MS = 100;

// Pipes are written synchronously on Linux: a line is out before the next statement.
const say = (line: ApartLine): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

// The supervisor kills this process to abort. Should the supervisor itself
// be gone (killed, or exited mid-update), stdin ends: nobody waits for the
// answer, and the staging dir is swept at its next start.
function orphaned(): never {
  try {
    // A group leader (the supervisor spawns it detached): tar and git go with it.
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader (run by hand): only this process ends.
  }
  process.exit(1);
}
process.stdin.once('error', orphaned);
process.stdin.setEncoding('utf8');
const request = await new Promise<ApartRequest>((resolve) => {
  let text = '';
  const onData = (chunk: string): void => {
    text += chunk;
    const at = text.indexOf('\n');
    if (at < 0) return;
    process.stdin.off('data', onData);
    // Still read, so that the end of the pipe is seen.
    process.stdin.resume();
    resolve(JSON.parse(text.slice(0, at)) as ApartRequest);
  };
  process.stdin.on('data', onData);
  process.stdin.once('end', orphaned);
});
const host = createNodeHost((code) => process.exit(code));
const source = createSource(request.spec, host, {}, { stateDir: request.stateDir, warn: (line) => say({ warn: line }) });
const signal = new AbortController().signal;
say({ ready: true });

async function run(): Promise<ApartLine> {
  if (request.op === 'list') return { entries: await source.list(signal) };
  let last = 0;
  await source.fetch(request.entry, request.dest, {
    ...request.limits,
    signal,
    // The GNU tar the supervisor found: not probed again here.
    untar: request.untar === null ? undefined : gnuTarOf(host, request.untar),
    log: (line) => say({ log: line }),
    onProgress: (done, total) => {
      const now = Date.now();
      if (done !== total && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      say({ progress: [done, total ?? null] });
    },
  });
  return { done: true };
}

/** A thrown value that is no OutlastError, with the errno and call of a system error. */
function failure(err: unknown): ApartLine {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  return {
    failure: err instanceof Error ? err.message : String(err),
    ...(typeof code === 'string' ? { errno: code } : {}),
    ...(typeof syscall === 'string' ? { syscall } : {}),
  };
}

try {
  say(await run());
} catch (err) {
  say(err instanceof OutlastError ? err.toJSON() : failure(err));
}
// A keep-alive socket or a timer of the source's must not keep the answer waiting.
process.exit(0);
