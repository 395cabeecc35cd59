export { createSource, type SourceDeps } from './create.ts';
export { createDirSource, type DirSourceConfig } from './dir.ts';
export { createGitSource, parseTags, runGit, type GitRunner, type GitSourceConfig } from './git.ts';
export { createHttpSource, type HttpSourceConfig, type HttpSourceDeps } from './http.ts';
export { manifestSchema, parseManifest, type Manifest, type ManifestEntry } from './manifest.ts';
export { sourceSchema, type SourceConfig, type SourceConfigInput } from './schema.ts';
export { findRelease, type FetchContext, type ReleaseEntry, type UpdateSource } from './source.ts';
