/**
 * Turns a config file plus command-line flags into one validated Config.
 * Flags override the file; relative paths in the file resolve against the
 * file's own directory, relative paths on the command line against the cwd.
 */
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { OutlastError } from '../errors.ts';
import type { HostFs } from '../host/host.ts';
import { describe, keyName, problemLine, valueAt } from './issue-text.ts';
import { stripJsonComments } from './jsonc.ts';
import { configSchema, type Config } from './schema.ts';

/** The flags of `outlast run` that override the config file. */
export interface RunFlags {
  config?: string | undefined;
  stateDir?: string | undefined;
  apiHost?: string | undefined;
  apiPort?: string | undefined;
  healthUrl?: string | undefined;
  stopTimeout?: string | undefined;
  name?: string | undefined;
  restart?: string | undefined;
  logLevel?: string | undefined;
  /** Everything after `--`. */
  command?: readonly string[] | undefined;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(parent: Json, key: string): Json {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const fresh: Json = {};
  parent[key] = fresh;
  return fresh;
}

/** A flag that should be a number stays a string when it isn't one, so the error names it. */
function numeric(raw: string): number | string {
  return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
}

/** One readable line per problem, each naming the key and the value found there. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        return `unknown key "${keyName(path)}" (value ${describe(valueAt(input, path))})`;
      });
    }
    // zod words a missing key as a type error ("expected array, received undefined").
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) return [problemLine(issue.path, 'is required', input)];
    return [problemLine(issue.path, issue.message.replace(/^Invalid input: /, ''), input)];
  });
}

/** Applies the flags on top of the raw file object. */
export function mergeFlags(raw: Json, flags: RunFlags, cwd: string): Json {
  const merged: Json = structuredClone(raw);
  if (flags.name !== undefined) merged.name = flags.name;
  if (flags.stateDir !== undefined) merged.stateDir = resolve(cwd, flags.stateDir);
  if (flags.logLevel !== undefined) child(merged, 'log').level = flags.logLevel;
  if (flags.apiHost !== undefined) child(merged, 'api').host = flags.apiHost;
  if (flags.apiPort !== undefined) child(merged, 'api').port = numeric(flags.apiPort);
  const service = child(merged, 'service');
  if (flags.command !== undefined && flags.command.length > 0) {
    service.command = [...flags.command];
    if (flags.config === undefined) service.cwd = cwd;
  }
  if (flags.healthUrl !== undefined) child(service, 'health').url = flags.healthUrl;
  if (flags.stopTimeout !== undefined) service.stopTimeoutMs = numeric(flags.stopTimeout);
  if (flags.restart !== undefined) child(service, 'restart').policy = flags.restart;
  return merged;
}

const INTERPRETERS = /^(node|nodejs|bun|deno|python[\d.]*|ruby|perl|php|sh|bash|dash|java)$/;

// Options after which an interpreter runs inline code, not a script file
// (`sh -e` is errexit and `node -r` a preload, so this goes by interpreter).
function inlineCodeOptions(interpreter: string): readonly string[] {
  if (/^(sh|bash|dash|python[\d.]*)$/.test(interpreter)) return ['-c'];
  if (interpreter === 'php') return ['-r'];
  return ['-e', '--eval', '-p', '--print'];
}
// Options of node and its kin whose value is the next argument, not the script.
const TAKES_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--env-file']);

/**
 * `node server.js` → "server", `./api` → "api": the script names a service
 * better than its interpreter. With inline code (`node -e "…"`, `sh -c`),
 * there is no script: the interpreter's name is the readable one.
 */
function defaultName(command: readonly string[]): string {
  const [program = 'service', ...args] = command;
  const script = INTERPRETERS.test(basename(program)) ? scriptArgument(basename(program), args) : undefined;
  const base = basename(script ?? program);
  const cleaned = base.slice(0, base.length - extname(base).length).replace(/[^A-Za-z0-9._-]/g, '-');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned : 'service';
}

/** The script an interpreter's arguments name, or undefined for inline code or none. */
function scriptArgument(interpreter: string, args: readonly string[]): string | undefined {
  const inline = inlineCodeOptions(interpreter);
  const takesValue = /^(node|nodejs|bun|deno)$/.test(interpreter) ? TAKES_VALUE : new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (inline.includes(arg)) return undefined;
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** A local feed or repository path in a config file is relative to the file. */
function resolveSource<T extends { type: string; path?: string; url?: string }>(source: T, baseDir: string): T {
  if (source.type === 'dir' && source.path !== undefined) return { ...source, path: resolve(baseDir, source.path) };
  // A git URL with a scheme (https://, ssh://, file://) or scp form (user@host:repo) stays as written.
  if (source.type === 'git' && source.url !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source.url) && !/^[^/]+@[^/]+:/.test(source.url)) {
    return { ...source, url: resolve(baseDir, source.url) };
  }
  return source;
}

/** Validates a merged object into a Config; throws CONFIG_INVALID naming each bad key. */
export function parseConfig(input: unknown, baseDir: string, source: string, cwd: string = baseDir): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = formatIssues(result.error.issues, input);
    throw new OutlastError('CONFIG_INVALID', `invalid config (${source}):\n  ${problems.join('\n  ')}`, {
      details: { source, problems },
    });
  }
  const { restart: deprecatedRestart, ...config } = result.data;
  const deprecations: string[] = [];
  if (deprecatedRestart !== undefined) {
    if (isObject(input) && input.selfRestart !== undefined) {
      throw new OutlastError('CONFIG_INVALID', `invalid config (${source}):\n  "restart" and "selfRestart" are both set: "restart" is the old name of "selfRestart", keep only "selfRestart"`, {
        details: { source, problems: ['"restart" and "selfRestart" are both set'] },
      });
    }
    config.selfRestart = deprecatedRestart;
    deprecations.push('the config key "restart" is deprecated: rename it to "selfRestart" (service.restart, the crash policy, is unchanged)');
  }
  if (config.updates !== undefined && config.service.cwd !== undefined) {
    throw new OutlastError('CONFIG_INVALID', `invalid config (${source}):\n  "service.cwd" cannot be set together with "updates": the service runs in <stateDir>/current`, {
      details: { source, problems: ['"service.cwd" cannot be set together with "updates"'] },
    });
  }
  // The default state dir belongs to where outlast was started, not to the file.
  const stateBase = isObject(input) && input.stateDir !== undefined ? baseDir : cwd;
  const stateDir = isAbsolute(config.stateDir) ? config.stateDir : resolve(stateBase, config.stateDir);
  const serviceCwd = resolve(baseDir, config.service.cwd ?? '.');
  return {
    ...config,
    name: config.name ?? defaultName(config.service.command),
    ...(deprecations.length === 0 ? {} : { deprecations }),
    stateDir,
    service: { ...config.service, cwd: serviceCwd },
    ...(config.updates === undefined
      ? {}
      : {
          updates: {
            ...config.updates,
            source: resolveSource(config.updates.source, baseDir),
            ...(config.updates.bundled === undefined ? {} : { bundled: resolve(baseDir, config.updates.bundled) }),
            ...(config.updates.report === undefined ? {} : { report: { ...config.updates.report, secretFile: resolve(baseDir, config.updates.report.secretFile) } }),
          },
        }),
  };
}

async function readConfigFile(fs: Pick<HostFs, 'readFile'>, path: string): Promise<Json> {
  let text: string;
  try {
    text = await fs.readFile(path);
  } catch (err) {
    throw new OutlastError('CONFIG_INVALID', `cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripJsonComments(text));
  } catch (err) {
    throw new OutlastError('CONFIG_INVALID', `config file ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isObject(parsed)) {
    throw new OutlastError('CONFIG_INVALID', `config file ${path} must hold a JSON object, got ${describe(parsed)}`);
  }
  return parsed;
}

/**
 * Loads the config file named by `--config` (if any), applies the flags and
 * validates the result. Without a config file, a command after `--` is required.
 */
export async function loadConfig(fs: Pick<HostFs, 'readFile'>, cwd: string, flags: RunFlags): Promise<Config> {
  if (flags.config === undefined) {
    if (flags.command === undefined || flags.command.length === 0) {
      throw new OutlastError('BAD_REQUEST', 'nothing to run: give a command after "--" or a config file with --config');
    }
    return parseConfig(mergeFlags({}, flags, cwd), cwd, 'command line');
  }
  const path = resolve(cwd, flags.config);
  const raw = await readConfigFile(fs, path);
  return parseConfig(mergeFlags(raw, flags, cwd), dirname(path), path, cwd);
}
