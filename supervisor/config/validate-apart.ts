/**
 * The config of `outlast run`, validated in a short-lived child process
 * (validate-main.ts) so that the validator never becomes part of the
 * supervisor: zod and the schema cost about 7 MB resident in a process that
 * keeps every module it loads, on a phone whose low-memory killer takes the
 * biggest process first. The child reads the file with the same flags and
 * cwd, validates it with loadConfig (load.ts), and prints one JSON line:
 * the Config, or the OutlastError it refused it with, which is raised here
 * with the same code, message and details.
 *
 * When the child gives no answer (it could not start, was killed, printed
 * something else), the config is validated in this process instead: the
 * same result, only heavier. That fallback is recorded as a capability
 * loaded ("config validator"), so `outlast doctor --json` shows why zod is
 * resident.
 */
import { fileURLToPath } from 'node:url';
import { raiseAnswer, readErrorAnswer, type ErrorAnswer } from '../errors.ts';
import { jsonObject } from '../json-object.ts';
import { hostRunner, type RunnerHost } from '../../platform/systemctl-runner.ts';
import type { Host } from '../host/host.ts';
import { noteLoaded } from '../resident.ts';
import type { RunFlags } from './load.ts';
import type { Config } from './schema.ts';

/** The child's entry, next to this module (.ts in a checkout, .js in dist/). */
const MAIN = new URL(`./validate-main${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

/**
 * A config validates in well under a second; a phone under load gets ten
 * times that. Well inside a self-update's start probe (20 s), which runs
 * this too, so the fallback still has its time there.
 */
const TIMEOUT_MS = 10_000;

/** What the child prints. */
type Answer = { config: Config } | { error: ErrorAnswer };

/** The argv of the child, after the executable. */
export function validatorArgs(flags: RunFlags): string[] {
  return [fileURLToPath(MAIN), JSON.stringify(flags)];
}

/** The answer in `text`, or undefined when it is not one. */
export function readAnswer(text: string): Answer | undefined {
  const answer = jsonObject(text);
  if (answer === undefined) return undefined;
  if (typeof answer.config === 'object' && answer.config !== null) return { config: answer.config as Config };
  const error = readErrorAnswer(answer.error);
  return error === undefined ? undefined : { error };
}

/** Runs the child; its answer, or undefined when it gave none. */
async function askChild(host: RunnerHost & Pick<Host, 'invocation'>, flags: RunFlags): Promise<Answer | undefined> {
  // The runner waits for the exit and for both pipes to close (the answer is whole only then), and kills the child's group at the deadline.
  const outcome = await hostRunner(host, host.invocation.execPath)(validatorArgs(flags), TIMEOUT_MS);
  // Its stderr is dropped: a child that fails says nothing the in-process validation won't say better.
  return outcome.kind === 'exited' && outcome.exitCode === 0 ? readAnswer(outcome.stdout) : undefined;
}

/** The validated config of `outlast run` (CONFIG_INVALID and the rest exactly as loadConfig raises them). */
export async function validateApart(host: RunnerHost & Pick<Host, 'invocation' | 'fs'>, flags: RunFlags): Promise<Config> {
  const answer = await askChild(host, flags);
  if (answer === undefined) {
    noteLoaded('config validator');
    const { loadConfig } = await import('./load.ts');
    return loadConfig(host.fs, host.cwd, flags);
  }
  if ('config' in answer) return answer.config;
  throw raiseAnswer(answer.error);
}
