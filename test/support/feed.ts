/**
 * Real release feeds for update tests: tarballs packed with outlast's own
 * publisher tooling from test/fixtures/release-app.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packRelease } from '../../supervisor/update/pack.ts';
import { tempDir } from './supervisor.ts';
import { nodeHost } from './node-host.ts';

const APP = resolve(import.meta.dirname, '../fixtures/release-app');

/** How a test release behaves. */
export type Behaviour = { mode: 'ok' | 'crash' | 'unhealthy' | 'hang' | 'deaf' } | { mode: 'exit-after'; ms: number };

/** Lays out one release's files in `dir`. */
export function writeRelease(dir: string, version: string, behaviour: Behaviour = { mode: 'ok' }, extraFiles: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  cpSync(join(APP, 'server.js'), join(dir, 'server.js'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'release-app', version, type: 'module', private: true }));
  if (behaviour.mode !== 'ok') writeFileSync(join(dir, 'behaviour.json'), JSON.stringify(behaviour));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
}

/** Packs each release into a fresh feed dir (manifest.json + tarballs); returns the feed. */
export async function makeFeed(releases: Array<{ version: string; behaviour?: Behaviour; keyPath?: string; files?: Record<string, string> }>, feed = tempDir('outlast-feed-')): Promise<string> {
  for (const release of releases) {
    const dir = mkdtempSync(join(tmpdir(), 'outlast-release-'));
    try {
      writeRelease(dir, release.version, release.behaviour, release.files);
      await packRelease(nodeHost.fs, { dir, version: release.version, feed, name: 'release-app', keyPath: release.keyPath, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return feed;
}
