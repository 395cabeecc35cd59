/**
 * `outlast audit`, the static part: each path given is one service, and
 * every rule is judged over all of that service's files at once, since a
 * SIGTERM handler registered in any module counts.
 */
import { entryFile, entrySources } from './entry.ts';
import { sortFindings, type Finding } from './finding.ts';
import { auditGo } from './go/scan.ts';
import { auditJs } from './js/rules.ts';
import { nodeAuditFs } from './node-fs.ts';
import { auditPython } from './python/rules.ts';
import { collectSources, languageOf, type AuditFs, type SourceFile } from './sources.ts';

/** Options for {@link auditPaths}. */
export interface AuditOptions {
  /** Where files are read from; the real file system by default. */
  fs?: AuditFs;
}

/**
 * Audits the sources of one service, already read. Each language is judged
 * on its own: a Python handler does not make a Node server safe.
 */
export function auditService(sources: readonly SourceFile[]): Finding[] {
  const of = (language: string): SourceFile[] => sources.filter((source) => languageOf(source.path) === language);
  return sortFindings([...auditJs(of('js')), ...auditPython(of('python')), ...auditGo(of('go'))]);
}

/**
 * Audits each path (a directory or a single file) as one service, skipping
 * node_modules, .git, dist and other third-party or build directories.
 * Throws NOT_FOUND for a path that does not exist.
 */
export async function auditPaths(paths: readonly string[], options: AuditOptions = {}): Promise<Finding[]> {
  const fs = options.fs ?? nodeAuditFs;
  const findings: Finding[] = [];
  for (const path of paths) findings.push(...auditService(await collectSources(fs, path)));
  return sortFindings(findings);
}

/**
 * Audits the service a command runs: its entry file (the first argument that
 * is an existing source file, resolved against `cwd`) and that file's own
 * imports. Without such an argument (a binary, inline code), `otherwise` is
 * audited as a path. File names are shown relative to `shownFrom`.
 */
export async function auditCommand(command: readonly string[], cwd: string, shownFrom: string, otherwise: string, options: AuditOptions = {}): Promise<Finding[]> {
  const fs = options.fs ?? nodeAuditFs;
  const entry = await entryFile(fs, command, cwd);
  if (entry === undefined) return auditPaths([otherwise], options);
  return auditService(await entrySources(fs, entry, shownFrom));
}
