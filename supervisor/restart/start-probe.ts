/**
 * The start probe of a self-update: before this process replaces itself
 * with the release `current` now points at, that release's supervisor entry
 * runs once in probe mode (same executable, flags and arguments, as the
 * execve would run it). It loads its modules and the config, prints the
 * token it was given and exits 0 without touching the state dir. An entry
 * that exits at start, throws, or hangs would take this pid and the service
 * with it after an execve; caught here, the old supervisor simply goes on.
 */
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';

/** The variable that puts `outlast run` in probe mode; its value is the token to print. */
export const START_PROBE_ENV = 'OUTLAST_START_PROBE';

/** The line the probed supervisor prints. */
export function probeAnswer(token: string): string {
  return `outlast start probe ${token}`;
}

/** Keeps the last `max` characters of what a stream says. */
function tail(stream: NodeJS.ReadableStream | null, max: number): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => (text = (text + chunk).slice(-max)));
  return () => text;
}

/** Runs the probe; resolves when the new supervisor answered, rejects with START_PROBE_FAILED otherwise. */
export async function probeStart(host: Pick<Host, 'spawn' | 'killGroup' | 'clock' | 'env' | 'cwd' | 'invocation' | 'randomToken'>, timeoutMs: number): Promise<void> {
  const token = host.randomToken(12);
  const { execPath, execArgv, argv } = host.invocation;
  const env = { ...Object.fromEntries(Object.entries(host.env).filter((e): e is [string, string] => e[1] !== undefined)), [START_PROBE_ENV]: token };
  const child = host.spawn(execPath, [...execArgv, ...argv], { cwd: host.cwd, env, detached: true });
  const stdout = tail(child.stdout, 4096);
  const stderr = tail(child.stderr, 2048);
  const timer = new AbortController();
  const timedOut = host.clock.sleep(timeoutMs, timer.signal).then(
    () => 'timeout' as const,
    () => 'cancelled' as const,
  );
  const outcome = await Promise.race([child.exited, timedOut]);
  timer.abort();
  let why: string;
  if (typeof outcome === 'string') {
    if (child.pid !== undefined) host.killGroup(child.pid, 'SIGKILL');
    await child.exited;
    why = `did not answer within ${timeoutMs} ms`;
  } else if (outcome.kind === 'exited') {
    if (outcome.code === 0 && stdout().includes(probeAnswer(token))) return;
    why = outcome.code === 0 ? 'exited 0 without the answer (a supervisor without a start probe?)' : `exited with ${outcome.code}`;
  } else {
    why = outcome.kind === 'signaled' ? `was killed by ${outcome.signal}` : outcome.message;
  }
  const said = stderr().trim().split('\n').slice(-5).join('\n');
  throw new OutlastError('START_PROBE_FAILED', `the new supervisor cannot start: its start probe ${why}${said === '' ? '' : `:\n${said}`}`, { details: { argv: [...argv] } });
}
