/**
 * What the installers generate from: one place that turns a validated config
 * and a few facts about this machine into the values every generated file
 * must agree on (the stop budget plus headroom above all).
 */
import { dirname } from 'node:path';
import type { Config } from '../config/schema.ts';

/** Room after the drain budget for outlast's own shutdown, before the platform SIGKILLs. */
export const STOP_HEADROOM_MS = 30_000;

/** The values the generators share. */
export interface InstallInput {
  name: string;
  /** Absolute path of the node binary (process.execPath): a unit has no nvm or PATH lookup. */
  node: string;
  /** Absolute path of bin/outlast.js. */
  entry: string;
  /** Absolute path of the config file. */
  config: string;
  /** outlast's working directory: the config file's directory. */
  workingDirectory: string;
  stateDir: string;
  /** service.stopTimeoutMs. */
  stopBudgetMs: number;
  /** How long the platform lets outlast stop: the budget plus headroom. */
  stopTimeoutMs: number;
  /** How long the platform lets outlast start: readiness (plus a first install) plus headroom. */
  startTimeoutMs: number;
  /** outlast's own /health, for healthchecks and the watchdog; undefined when the port is picked at start. */
  healthUrl: string | undefined;
  /** Environment= lines of the systemd unit. */
  env: Record<string, string>;
  /** A systemd user unit rather than a system one. */
  user: boolean;
  /** The account a system unit runs as (User=); undefined for user units. */
  runAs: string | undefined;
  /** The outlast version that generated the files. */
  version: string;
}

/** Facts about this machine and this outlast that the config does not hold. */
export interface InstallFacts {
  node: string;
  entry: string;
  configPath: string;
  /**
   * The PATH to give the unit. Undefined: the node binary's dir plus
   * {@link BASE_PATH}, never the installing shell's whole PATH.
   */
  path: string | undefined;
  user: boolean;
  /** The account a system unit runs as. */
  runAs?: string | undefined;
  version: string;
}

/** The dirs a unit's PATH has besides the node binary's own. */
export const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** A minimal PATH: the node binary's dir first, then {@link BASE_PATH}, without repeats. */
export function minimalPath(node: string): string {
  return [...new Set([dirname(node), ...BASE_PATH.split(':')])].join(':');
}

/** One file to write. */
export interface GeneratedFile {
  /** Relative to the output dir. */
  path: string;
  /** Permission bits: 0o755 for scripts. */
  mode: number;
  content: string;
}

/** What a generator produces: the files, and how to put them in place. */
export interface Generated {
  files: GeneratedFile[];
  notes: string[];
}

/** Seconds, rounded up, as unit files and compose write them. */
export function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** The shared values for `config` loaded from `facts.configPath`. */
export function installInput(config: Config, facts: InstallFacts): InstallInput {
  const firstInstallMs = config.updates === undefined ? 0 : config.updates.installTimeoutMs;
  const { host, port } = config.api;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    name: config.name,
    node: facts.node,
    entry: facts.entry,
    config: facts.configPath,
    workingDirectory: dirname(facts.configPath),
    stateDir: config.stateDir,
    stopBudgetMs: config.service.stopTimeoutMs,
    stopTimeoutMs: config.service.stopTimeoutMs + STOP_HEADROOM_MS,
    startTimeoutMs: config.service.health.readyTimeoutMs + firstInstallMs + STOP_HEADROOM_MS,
    healthUrl: port === 0 ? undefined : `http://${urlHost}:${port}/health`,
    env: { PATH: facts.path ?? minimalPath(facts.node) },
    user: facts.user,
    runAs: facts.user ? undefined : facts.runAs,
    version: facts.version,
  };
}
