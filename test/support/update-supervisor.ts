/**
 * A real supervisor whose service is test/fixtures/release-app, installed
 * from any update source, for the end-to-end update tests; and one-shot runs
 * of the real CLI (`outlast apply --wait`, `outlast release pack`, …).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { api, BIN, ROOT, startCli, tempDir, type RunningCli } from './supervisor.ts';
import { waitFor } from './wait.ts';

/** Headers of a JSON request body. */
export const JSON_BODY = { 'content-type': 'application/json' };

/** A supervisor running release-app from an update source. */
export interface UpdatingSupervisor {
  cli: RunningCli;
  /** Where the service listens. */
  port: number;
}

/** What to vary in the config; each block is merged over the defaults. */
export interface UpdatingOptions {
  /** The version installed on first start (default 1.0.0). */
  initial?: string;
  updates?: Record<string, unknown>;
  service?: Record<string, unknown>;
  /** Extra environment for the supervisor process. */
  env?: Record<string, string>;
  /** The state dir (default: `.outlast` next to the config). */
  stateDir?: string;
}

/**
 * Starts `outlast run` with `updates.source` = `source`, a preflight that
 * checks the printed version, and a short health gate; resolves once the
 * first version answers.
 */
export async function startUpdating(source: Record<string, unknown>, options: UpdatingOptions = {}): Promise<UpdatingSupervisor> {
  const port = await freePort();
  const config = join(tempDir('outlast-upd-'), 'outlast.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'app',
      ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
      service: {
        command: [process.execPath, 'server.js'],
        env: { PORT: String(port) },
        health: { url: `http://127.0.0.1:${port}/health`, intervalMs: 200, timeoutMs: 300, failureThreshold: 2, readyTimeoutMs: 3000 },
        stopTimeoutMs: 2000,
        ...options.service,
      },
      api: { port: 0 },
      updates: {
        source,
        initialVersion: options.initial ?? '1.0.0',
        preflight: [process.execPath, 'server.js', '--version'],
        healthGate: { timeoutMs: 3000, stableForMs: 300 },
        ...options.updates,
      },
    }),
  );
  const cli = startCli(['run', '--config', config], { ...(options.env === undefined ? {} : { env: options.env }), ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }) });
  await waitFor(async () => {
    if (cli.proc.exitCode !== null) throw new Error(`outlast run exited ${cli.proc.exitCode}:\n${cli.stderr()}`);
    return (await serviceVersion(port)) !== undefined;
  }, 'the first version serving', 20_000);
  return { cli, port };
}

/** The version the service answers with, or undefined when it does not answer. */
export async function serviceVersion(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The release store as the disk has it: every entry of releases/ (staging leftovers included) and both links. */
export function store(stateDir: string): { releases: string[]; current: string | null; previous: string | null } {
  const link = (name: string): string | null => (existsSync(join(stateDir, name)) ? readlinkSync(join(stateDir, name)) : null);
  return { releases: readdirSync(join(stateDir, 'releases')).sort(), current: link('current'), previous: link('previous') };
}

/**
 * Resolves once the update lock of `stateDir` is free. An operation is
 * journaled as ended before the lock goes (pruning runs in between), so the
 * next apply must wait for this, not only for the final state.
 */
export async function lockReleased(stateDir: string): Promise<void> {
  await waitFor(() => !existsSync(join(stateDir, 'update.lock')), 'the update lock to be released');
}

/** Polls `GET /updates/:id` until the operation has ended and the lock is free; returns the operation. */
export async function finalState(cli: RunningCli, id: string): Promise<Record<string, unknown>> {
  const op = await waitFor(async () => {
    const { json } = await api(cli, 'GET', `/updates/${id}`);
    return ['committed', 'rolled-back', 'failed'].includes(json.state as string) ? json : undefined;
  }, `update ${id} to end`, 20_000);
  await lockReleased(cli.stateDir);
  return op;
}

/** POST /updates/apply with `body`. */
export function apply(cli: RunningCli, body: Record<string, unknown> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  return api(cli, 'POST', '/updates/apply', { body: JSON.stringify(body), headers: JSON_BODY });
}

/** How a one-shot CLI run ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `outlast <args>` to its end (the real entry, under this Node) and returns its exit code and output. */
export function runOutlast(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 30_000, env: { ...process.env, OUTLAST_LOG_FORMAT: 'json' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
