/**
 * What a running supervisor holds in memory, for `outlast doctor --json`
 * (through `/status`): its RSS, the packages it has loaded and how many
 * modules. bin/outlast.js records every module `outlast run` loads (a load
 * hook, from before the first import), so the list is what was loaded, not
 * what was meant to be; the lazy loaders add the capability they brought in
 * ("update pipeline"), which says why a package is there.
 */

/** Where bin/outlast.js keeps the URLs of the modules it saw load. */
const RECORD = Symbol.for('outlast.loadedModules');

const capabilities: string[] = [];

/** Records that a capability loaded on first use (once each). */
export function noteLoaded(capability: string): void {
  if (!capabilities.includes(capability)) capabilities.push(capability);
}

/** The resident report. `modules` is null when nothing recorded the loads (a supervisor not started by bin/outlast.js). */
export interface ResidentReport {
  rssMb: number;
  /** The npm packages loaded, sorted. */
  modules: string[] | null;
  /**
   * The Node builtins the supervisor's own modules and its packages asked
   * for (`crypto`, `zlib`, …), sorted; what Node loads inside a builtin is
   * not seen. Some cost as much as a package: node:crypto about 2.6 MB.
   */
  builtins: string[] | null;
  /** How many modules loaded (the supervisor's own, the packages', and node's builtins). */
  moduleCount: number | null;
  /** What loaded on first use, in the order it did. */
  loaded: string[];
}

/** The package a module URL belongs to: the last node_modules segment's name (scoped or not). */
function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = url.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') === true ? `${first}/${second}` : first;
}

/** This process's report, its RSS taken by `rssBytes`. */
export function residentReport(rssBytes: number): ResidentReport {
  const urls = (globalThis as { [RECORD]?: readonly string[] })[RECORD];
  const packages = urls === undefined ? null : [...new Set(urls.map(packageOf).filter((p) => p !== undefined))].sort();
  const builtins = urls === undefined ? null : [...new Set(urls.filter((url) => url.startsWith('node:')).map((url) => url.slice('node:'.length)))].sort();
  return { rssMb: Math.round((rssBytes / (1024 * 1024)) * 10) / 10, modules: packages, builtins, moduleCount: urls === undefined ? null : urls.length, loaded: [...capabilities] };
}
