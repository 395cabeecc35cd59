// Loads the recorded platform snapshots in test/fixtures/platform/.
import { readdirSync, readFileSync } from 'node:fs';
import type { PlatformSnapshot } from '../../platform/index.ts';

const DIR = new URL('../fixtures/platform/', import.meta.url);

/** The names of every recorded snapshot, without `.json`. */
export function fixtureNames(): string[] {
  return readdirSync(DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** A recorded snapshot; each call returns a fresh copy that a test may change. */
export function loadSnapshot(name: string): PlatformSnapshot {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as PlatformSnapshot;
}
