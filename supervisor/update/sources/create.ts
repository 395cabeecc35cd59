/**
 * Binds a validated source config to its implementation: the one place that
 * knows all three kinds.
 */
import { join } from 'node:path';
import { createDirSource, type DirSourceConfig, type DirSourceFs } from './dir.ts';
import { createGitSource, type GitRunner, type GitSourceConfig, type GitSourceHost } from './git.ts';
import { createHttpSource, type HttpSourceConfig, type HttpSourceDeps, type HttpSourceHost } from './http.ts';
import { createManifestSerials, SERIAL_FILE, type SerialFs } from './manifest-serial.ts';
import type { UpdateSource } from './source.ts';

/** Side effects a caller may replace; each defaults to the real one. */
export interface SourceDeps extends Partial<HttpSourceDeps> {
  git?: GitRunner;
}

/** Where a source keeps what it must remember, and how it warns. */
export interface SourceOptions {
  /** The state dir: the highest manifest serial accepted is kept there. In memory when missing. */
  stateDir?: string | undefined;
  /** Said once when a manifest is accepted unsigned although a key is configured. */
  warn?: ((line: string) => void) | undefined;
}

/** What the sources need of the Host, all kinds together. */
export type SourceHost = GitSourceHost & HttpSourceHost & { fs: DirSourceFs & SerialFs };

/** A source config (a validated SourceConfig is one). */
export type SourceSpec = ({ type: 'git' } & GitSourceConfig) | ({ type: 'http' } & HttpSourceConfig) | ({ type: 'dir' } & DirSourceConfig);

/** The source a config describes, with its side effects bound to `host`. */
export function createSource(config: SourceSpec, host: SourceHost, deps: SourceDeps = {}, options: SourceOptions = {}): UpdateSource {
  const serials = () =>
    createManifestSerials(options.stateDir === undefined ? undefined : { fs: host.fs, path: join(options.stateDir, SERIAL_FILE), now: () => host.clock.now() });
  switch (config.type) {
    case 'git':
      return createGitSource(config, host, deps.git);
    case 'http':
      return createHttpSource(config, host, deps, { serials: serials(), warn: options.warn, now: () => host.clock.now() });
    case 'dir':
      return createDirSource(config, host.fs, { serials: serials(), warn: options.warn, now: () => host.clock.now() });
  }
}
