import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SVC, tempDir } from './supervisor.ts';

/** Writes a config file running the test service with `env`, merged with `extra` service keys. */
export function svcConfig(env: Record<string, string>, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
  const dir = tempDir('outlast-config-');
  const path = join(dir, 'outlast.json');
  const config = {
    name: 'svc',
    stateDir: join(dir, 'state'),
    api: { port: 0 },
    ...top,
    service: { command: [process.execPath, SVC], env, ...extra },
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
