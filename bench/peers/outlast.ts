/**
 * outlast itself, run from this checkout (`bin/outlast.js run`, the
 * TypeScript sources) or, with `bin`, from the installed package (see
 * bench/compiled.ts), installing the bench app from the dir feed and
 * updating it with POST /updates/apply. With `handoff`, the config owns the
 * listening socket (`service.listen`) and passes it to each child on fd 3;
 * that needs a supervisor whose config schema knows `service.listen`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../supervisor/config/schema.ts';
import { waitFor } from '../../test/support/wait.ts';
import { ROOT, type ServiceSpec } from '../app.ts';
import { waitAnswer } from '../support/http.ts';
import { killLeftover, runsUnder, stopChild, whileRunning } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import type { Peer, RunningPeer } from './peer.ts';

const SOURCE_BIN = join(ROOT, 'bin/outlast.js');

/** Whether this checkout's config schema accepts `service.listen` (socket handoff). */
export function handoffSupported(): boolean {
  return configSchema.safeParse({ service: { command: ['x'], listen: [{ port: 1, host: '127.0.0.1' }] } }).success;
}

/** The config of one bench supervisor. */
export function outlastConfig(service: ServiceSpec, stateDir: string, handoff: boolean): Record<string, unknown> {
  return {
    name: 'bench',
    stateDir,
    log: { level: 'warn' },
    service: {
      command: [process.execPath, 'server.js'],
      env: { PORT: String(service.port) },
      // Every 5 s, written out (it is the default) because idle CPU is measured with it.
      health: { url: `http://127.0.0.1:${service.port}/health`, intervalMs: 5000 },
      stopTimeoutMs: 5000,
      // No restart settings: crash repair measures the default, under which
      // a child that ran for stableAfterMs (1 s, like PM2's min_uptime,
      // supervisord's startsecs and runsv's 1 s) is restarted at once.
      ...(handoff ? { listen: [{ port: service.port, host: '127.0.0.1' }] } : {}),
    },
    api: { port: 0 },
    updates: { source: { type: 'dir', path: service.feed }, initialVersion: service.version },
  };
}

/** outlast as a peer: plain respawn, or socket handoff with `handoff`; from the checkout, or the package at `bin`. */
export function outlastPeer(options: { handoff?: boolean; bin?: string } = {}): Peer {
  const handoff = options.handoff === true;
  const BIN = options.bin ?? SOURCE_BIN;
  const compiled = options.bin !== undefined;
  return {
    name: `outlast${handoff ? ' (socket handoff)' : ''}${compiled ? '' : ' (checkout)'}`,
    updateVia: handoff ? 'POST /updates/apply (socket handoff)' : 'POST /updates/apply',
    unavailable: () => (handoff && !handoffSupported() ? 'handoff: not available (no service.listen in supervisor/config/schema.ts)' : undefined),
    async setup(service: ServiceSpec, scope: Scope): Promise<RunningPeer> {
      const home = mkdtempSync(join(tmpdir(), 'outlast-bench-outlast-'));
      const stateDir = join(home, 'state');
      const childPid = (): number | undefined => {
        try {
          return (JSON.parse(readFileSync(join(stateDir, 'child.json'), 'utf8')) as { pid?: number }).pid;
        } catch {
          return undefined;
        }
      };
      const config = join(home, 'outlast.json');
      writeFileSync(config, JSON.stringify(outlastConfig(service, stateDir, handoff)));
      const logFd = openSync(join(home, 'outlast.log'), 'a');
      const proc = spawn(process.execPath, [BIN, 'run', '--config', config], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      const teardown = scope.defer(async () => {
        // outlast stops its service gracefully on SIGTERM; whatever survives
        // a stuck stop is killed by the pid it recorded.
        const last = childPid();
        await stopChild(proc, 'SIGTERM', 15_000);
        await killLeftover(last, runsUnder(home));
        rmSync(home, { recursive: true, force: true });
      });
      try {
        const log = (): string => readFileSync(join(home, 'outlast.log'), 'utf8');
        await whileRunning(proc, 'outlast run', waitAnswer(service.port, (a) => a.version === service.version, `outlast's service ${service.version}`), log);
      } catch (err) {
        await teardown.run();
        throw err;
      }
      const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
        const { apiUrl } = JSON.parse(readFileSync(join(stateDir, 'supervisor.json'), 'utf8')) as { apiUrl: string };
        const token = readFileSync(join(stateDir, 'token'), 'utf8').trim();
        const res = await fetch(`${apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? null : JSON.stringify(body),
        });
        return { status: res.status, json: await res.json() };
      };
      return {
        daemonPid: proc.pid!,
        async update(version) {
          const { status, json } = await api('POST', '/updates/apply', { version });
          if (status !== 202) throw new Error(`outlast apply ${version} answered ${status}: ${JSON.stringify(json)}`);
        },
        servicePid: () => waitFor(childPid, 'child.json', 5000),
        commands: () => ({
          version: { label: `outlast --version${compiled ? '' : ' (checkout)'}`, file: process.execPath, args: [BIN, '--version'] },
          status: { label: `outlast status${compiled ? '' : ' (checkout)'}`, file: process.execPath, args: [BIN, 'status', '--state-dir', stateDir] },
        }),
        teardown: () => teardown.run(),
      };
    },
  };
}
