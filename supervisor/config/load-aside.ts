/**
 * loadConfig for `outlast run`, in a short-lived worker thread. zod and the
 * schema cost the supervisor about 15 MB for as long as it lives, and are
 * needed once, at start-up: validated in a worker, they go when it ends,
 * and the supervisor keeps only the plain Config. The schema stays the one
 * source of truth (schema.ts); the answer is the same as loadConfig's, errors
 * included. A worker that cannot start costs only the memory: the config
 * is then validated here.
 */
import { resolve } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { HostFs } from '../host/host.ts';
import type { LoadAnswer, LoadRequest } from './load-worker.ts';
import type { RunFlags } from './load.ts';
import type { Config } from './schema.ts';

async function readAside(fs: Pick<HostFs, 'readFile'>, cwd: string, flags: RunFlags): Promise<LoadRequest['file']> {
  if (flags.config === undefined) return undefined;
  try {
    return { text: await fs.readFile(resolve(cwd, flags.config)) };
  } catch (err) {
    return { readError: (err as Error).message };
  }
}

function settle(answer: LoadAnswer): Config {
  if ('config' in answer) return answer.config as Config;
  if ('error' in answer) throw new OutlastError(answer.error.code, answer.error.message, answer.error.details === undefined ? {} : { details: answer.error.details });
  const err = new Error(answer.crash.message);
  if (answer.crash.stack !== undefined) err.stack = answer.crash.stack;
  throw err;
}

/** Runs the worker; undefined when it could not (then the caller validates in this thread). */
async function inWorker(request: LoadRequest): Promise<LoadAnswer | undefined> {
  const { Worker } = await import('node:worker_threads');
  // The worker runs what this module runs: the .ts sources from a checkout, dist's .js when installed.
  const url = new URL(`./load-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);
  return new Promise((done) => {
    let worker: InstanceType<typeof Worker>;
    try {
      worker = new Worker(url, { workerData: request, stdout: false, stderr: false });
    } catch {
      done(undefined);
      return;
    }
    worker.once('message', (answer: LoadAnswer) => done(answer));
    worker.once('error', () => done(undefined));
    worker.once('exit', () => done(undefined));
  });
}

/** loadConfig (load.ts), validated in a worker thread that ends with it. */
export async function loadConfigAside(fs: Pick<HostFs, 'readFile'>, cwd: string, flags: RunFlags): Promise<Config> {
  const answer = await inWorker({ cwd, flags: { ...flags }, file: await readAside(fs, cwd, flags) });
  if (answer !== undefined) return settle(answer);
  const { loadConfig } = await import('./load.ts');
  return loadConfig(fs, cwd, flags);
}
