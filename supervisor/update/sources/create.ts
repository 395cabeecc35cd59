/**
 * Binds a validated source config to its implementation: the one place that
 * knows all three kinds.
 */
import { createDirSource } from './dir.ts';
import { createGitSource, type GitRunner } from './git.ts';
import { createHttpSource, type HttpSourceDeps } from './http.ts';
import type { SourceConfig } from './schema.ts';
import type { UpdateSource } from './source.ts';

/** Side effects a caller may replace; each defaults to the real one. */
export interface SourceDeps extends Partial<HttpSourceDeps> {
  git?: GitRunner;
}

/** The source a config describes. */
export function createSource(config: SourceConfig, deps: SourceDeps = {}): UpdateSource {
  switch (config.type) {
    case 'git':
      return createGitSource(config, deps.git);
    case 'http':
      return createHttpSource(config, deps);
    case 'dir':
      return createDirSource(config);
  }
}
