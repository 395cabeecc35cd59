/**
 * The one service every peer runs in every scenario: bench/handoff-app.mjs
 * as server.js next to a package.json that gives its version. Peers other
 * than outlast run it in place from an app dir, and are "updated" by
 * rewriting that package.json before their reload; outlast installs the same
 * files from a real dir feed (packed with outlast's own publisher tooling).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeFeed } from '../test/support/feed.ts';
import { freePort } from '../test/support/net.ts';

/** The repo root. */
export const ROOT = resolve(import.meta.dirname, '..');
/** The service's source. */
export const APP_SOURCE = join(ROOT, 'bench/handoff-app.mjs');

/** One service for one peer: where it lives, where it listens, what it runs first. */
export interface ServiceSpec {
  /** server.js + package.json at `version`; run in place by peers other than outlast. */
  appDir: string;
  /** A dir feed holding the same app at every version the bench uses. */
  feed: string;
  /** The version serving at start. */
  version: string;
  /** 127.0.0.1:port is where the service listens. */
  port: number;
}

/** Writes the app at `version` into `dir`. */
export function writeApp(dir: string, version: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(APP_SOURCE, join(dir, 'server.js'));
  setVersion(dir, version);
}

/** Deploys `version` into an app dir the way a simple deploy does: package.json replaced atomically. */
export function setVersion(dir: string, version: string): void {
  const tmp = join(dir, `.package.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify({ name: 'bench-app', version, type: 'module', private: true }));
  renameSync(tmp, join(dir, 'package.json'));
}

/** Packs the app at each of `versions` into the dir feed `feed`. */
export async function buildFeed(feed: string, versions: readonly string[]): Promise<string> {
  const server = readFileSync(APP_SOURCE, 'utf8');
  return makeFeed(
    versions.map((version) => ({ version, files: { 'server.js': server } })),
    feed,
  );
}

/** A fresh app dir under `work` at `version` and a free port. */
export async function newService(work: string, feed: string, version = '1.0.0'): Promise<ServiceSpec> {
  const appDir = mkdtempSync(join(work, 'app-'));
  writeApp(appDir, version);
  return { appDir, feed, version, port: await freePort() };
}
