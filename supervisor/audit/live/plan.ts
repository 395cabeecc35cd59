/**
 * What a live audit will do, decided once before anything starts: the
 * command and its env, where the service will listen and how readiness is
 * seen, the stop signal and the budget. From `-- COMMAND` and flags, or from
 * an outlast config file, so the audit runs the service the way the
 * supervisor would.
 */
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { OutlastError } from '../../errors.ts';
import type { Host } from '../../host/host.ts';
import type { LiveNet, LiveTarget } from './live-net.ts';

/** Everything a live run needs. */
export interface LivePlan {
  command: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Where the connections go. */
  target: LiveTarget;
  /** Readiness by GET of this URL; by a TCP connect to `target` when absent. */
  healthUrl: string | undefined;
  /** Requested by the idle connections and the upgrade request. */
  path: string;
  stopSignal: NodeJS.Signals;
  budgetMs: number;
  readyTimeoutMs: number;
  /** How many idle keep-alive connections to hold. */
  connections: number;
  /** Also hold one long-lived (upgrade) connection. */
  stream: boolean;
}

/** The flags of `outlast audit --live`, as given. */
export interface LiveFlags {
  config?: string | undefined;
  healthUrl?: string | undefined;
  port?: string | undefined;
  budget?: string | undefined;
  readyTimeout?: string | undefined;
  connections?: string | undefined;
  /** Everything after `--`. */
  command: readonly string[];
}

const DEFAULT_BUDGET_MS = 10_000;
const DEFAULT_READY_MS = 30_000;
const DEFAULT_CONNECTIONS = 50;

/** A whole number of at least `min` from flag `name`, or BAD_REQUEST naming it. */
export function intFlag(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min) throw new OutlastError('BAD_REQUEST', `--${name} must be a whole number >= ${min}, got "${raw}"`, { details: { flag: name, value: raw } });
  return value;
}

function targetOfUrl(url: string): LiveTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutlastError('BAD_REQUEST', `--health-url is not a URL: "${url}"`, { details: { flag: 'health-url', value: url } });
  }
  if (parsed.protocol !== 'http:') throw new OutlastError('NOT_SUPPORTED', `the live audit speaks plain HTTP only, got ${url}`, { details: { url } });
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80) };
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

function inherited(host: Host): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(host.env)) if (value !== undefined) env[key] = value;
  return env;
}

interface Base {
  command: readonly string[];
  cwd: string;
  env: Record<string, string>;
  healthUrl: string | undefined;
  tcp: LiveTarget | undefined;
  stopSignal: NodeJS.Signals;
  budgetMs: number;
  readyTimeoutMs: number;
}

async function fromConfig(host: Host, flags: LiveFlags, config: string): Promise<Base> {
  const loaded = await loadConfig(host.fs, host.cwd, { config, command: flags.command.length > 0 ? flags.command : undefined, healthUrl: flags.healthUrl });
  const service = loaded.service;
  return {
    command: service.command,
    // With updates, the supervisor runs the service in the current release.
    cwd: loaded.updates === undefined ? service.cwd ?? host.cwd : join(loaded.stateDir, 'current'),
    env: { ...(service.inheritEnv ? inherited(host) : {}), ...service.env },
    healthUrl: service.health.url,
    tcp: service.health.tcp,
    stopSignal: service.stopSignal,
    budgetMs: service.stopTimeoutMs,
    readyTimeoutMs: service.health.readyTimeoutMs,
  };
}

/**
 * Decides the plan. Where the service listens comes from, in order: --port
 * (also passed to it as PORT), the health URL, the config's health.tcp, or a
 * free port picked here and passed as PORT.
 */
export async function planLive(host: Host, net: LiveNet, flags: LiveFlags): Promise<LivePlan> {
  let base: Base;
  if (flags.config !== undefined) base = await fromConfig(host, flags, flags.config);
  else if (flags.command.length === 0) throw new OutlastError('BAD_REQUEST', 'audit --live needs the service command after "--", or a config file with --config');
  else {
    base = { command: flags.command, cwd: host.cwd, env: inherited(host), healthUrl: flags.healthUrl, tcp: undefined, stopSignal: 'SIGTERM', budgetMs: DEFAULT_BUDGET_MS, readyTimeoutMs: DEFAULT_READY_MS };
  }
  const port = intFlag('port', flags.port, 1);
  const env = { ...base.env };
  let target: LiveTarget;
  if (port !== undefined) {
    target = { host: base.healthUrl === undefined ? '127.0.0.1' : targetOfUrl(base.healthUrl).host, port };
    env.PORT = String(port);
  } else if (base.healthUrl !== undefined) target = targetOfUrl(base.healthUrl);
  else if (base.tcp !== undefined) target = base.tcp;
  else {
    target = { host: '127.0.0.1', port: await net.freePort('127.0.0.1') };
    env.PORT = String(target.port);
  }
  return {
    command: base.command,
    cwd: base.cwd,
    env,
    target,
    healthUrl: base.healthUrl,
    path: base.healthUrl === undefined ? '/' : pathOf(base.healthUrl),
    stopSignal: base.stopSignal,
    budgetMs: intFlag('budget', flags.budget, 1) ?? base.budgetMs,
    readyTimeoutMs: intFlag('ready-timeout', flags.readyTimeout, 1) ?? base.readyTimeoutMs,
    connections: intFlag('connections', flags.connections, 0) ?? DEFAULT_CONNECTIONS,
    stream: true,
  };
}
