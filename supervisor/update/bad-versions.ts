/**
 * Versions that were rolled back, with the reason: `<stateDir>/bad-versions.json`.
 * Automatic selection skips them; naming one explicitly needs force.
 */
import { join } from 'node:path';
import type { Host } from '../host/host.ts';

function path(stateDir: string): string {
  return join(stateDir, 'bad-versions.json');
}

/** version → reason. */
export async function readBadVersions(host: Host, stateDir: string): Promise<Map<string, string>> {
  try {
    return new Map(Object.entries(JSON.parse(await host.fs.readFile(path(stateDir))) as Record<string, string>));
  } catch {
    return new Map();
  }
}

/** Records `version` as bad. */
export async function markBad(host: Host, stateDir: string, version: string, reason: string): Promise<void> {
  const bad = await readBadVersions(host, stateDir);
  bad.set(version, reason);
  await host.fs.writeFileAtomic(path(stateDir), `${JSON.stringify(Object.fromEntries(bad), null, 2)}\n`);
}

/** Forgets that `version` was bad (it committed after a forced retry). */
export async function clearBad(host: Host, stateDir: string, version: string): Promise<void> {
  const bad = await readBadVersions(host, stateDir);
  if (bad.delete(version)) await host.fs.writeFileAtomic(path(stateDir), `${JSON.stringify(Object.fromEntries(bad), null, 2)}\n`);
}
