/**
 * Binds a validated source config to its implementation: the one place that
 * knows all three kinds.
 */
import { createDirSource, type DirSourceFs } from './dir.ts';
import { createGitSource, type GitRunner, type GitSourceHost } from './git.ts';
import { createHttpSource, type HttpSourceDeps, type HttpSourceHost } from './http.ts';
import type { SourceConfig } from './schema.ts';
import type { UpdateSource } from './source.ts';

/** Side effects a caller may replace; each defaults to the real one. */
export interface SourceDeps extends Partial<HttpSourceDeps> {
  git?: GitRunner;
}

/** What the sources need of the Host, all kinds together. */
export type SourceHost = GitSourceHost & HttpSourceHost & { fs: DirSourceFs };

/** The source a config describes, with its side effects bound to `host`. */
export function createSource(config: SourceConfig, host: SourceHost, deps: SourceDeps = {}): UpdateSource {
  switch (config.type) {
    case 'git':
      return createGitSource(config, host, deps.git);
    case 'http':
      return createHttpSource(config, host, deps);
    case 'dir':
      return createDirSource(config, host.fs);
  }
}
