export { createSource, type SourceDeps, type SourceHost } from './create.ts';
export { createDirSource, type DirSourceConfig, type DirSourceFs } from './dir.ts';
export { createGitSource, hostGit, parseTags, type GitRunner, type GitRunnerHost, type GitSourceConfig, type GitSourceHost } from './git.ts';
export { createHttpSource, type HttpSourceConfig, type HttpSourceDeps, type HttpSourceHost } from './http.ts';
export { parseManifest, type Manifest, type ManifestEntry } from './manifest.ts';
export type { SourceConfig, SourceConfigInput } from './schema.ts';
export { findRelease, type FetchContext, type ReleaseEntry, type UpdateSource } from './source.ts';
