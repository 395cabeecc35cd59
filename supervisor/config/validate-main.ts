/**
 * The child process of validate-apart.ts: `node validate-main.js FLAGS`
 * (FLAGS: `outlast run`'s RunFlags as JSON), in the supervisor's cwd and
 * environment. Validates the config with loadConfig and prints one JSON
 * line: `{"config": …}`, or `{"error": {code, message, details}}` for an
 * OutlastError. Anything else ends it with exit code 1 and the stack on
 * stderr, and the supervisor validates in its own process instead.
 */
import module from 'node:module';
import type { RunFlags } from './load.ts';

// First, so the modules below load through the on-disk compile cache
// bin/outlast.js uses: this child starts at every `outlast run`.
module.enableCompileCache?.();
const [{ OutlastError }, { nodeFs }, { loadConfig }] = await Promise.all([import('../errors.ts'), import('../host/node-fs.ts'), import('./load.ts')]);

async function answer(flags: RunFlags): Promise<string> {
  try {
    return JSON.stringify({ config: await loadConfig(nodeFs, process.cwd(), flags) });
  } catch (err) {
    if (err instanceof OutlastError) return JSON.stringify(err.toJSON());
    throw err;
  }
}

const line = await answer(JSON.parse(process.argv[2] ?? '{}') as RunFlags);
process.stdout.write(`${line}\n`);
