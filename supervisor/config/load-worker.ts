/**
 * The worker thread of load-aside.ts: validates the config with zod and
 * posts back the Config (plain data) or the error, then ends, taking zod
 * and the schema with it. The file's text was read by the main thread,
 * through its Host; this thread touches nothing outside.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OutlastError } from '../errors.ts';
import { loadConfig, type RunFlags } from './load.ts';

/** What the main thread hands over. */
export interface LoadRequest {
  cwd: string;
  flags: RunFlags;
  /** The config file's text, or why it could not be read (the message of the read error). */
  file?: { text: string } | { readError: string };
}

/** What comes back: the Config, or the error in a form that crosses threads. */
export type LoadAnswer = { config: unknown } | { error: { code: OutlastError['code']; message: string; details?: Record<string, unknown> } } | { crash: { message: string; stack?: string } };

async function answer(request: LoadRequest): Promise<LoadAnswer> {
  const { file } = request;
  const fs = {
    readFile: async (): Promise<string> => {
      if (file === undefined) throw new Error('no file was read');
      if ('readError' in file) throw new Error(file.readError);
      return file.text;
    },
  };
  try {
    return { config: await loadConfig(fs, request.cwd, request.flags) };
  } catch (err) {
    if (err instanceof OutlastError) return { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
    const { message, stack } = err as Error;
    return { crash: { message: String(message), ...(stack === undefined ? {} : { stack }) } };
  }
}

parentPort?.postMessage(await answer(workerData as LoadRequest));
