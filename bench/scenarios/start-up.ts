/**
 * Scenario 5: start-up, the cold start of a CLI process as a person types
 * it: `outlast --version` and `outlast status` (against a running
 * supervisor), the same calls of each peer that has them, and `node -e 0`
 * as the floor every Node CLI pays. hyperfine (no shell, warm-up runs) when
 * it is installed; otherwise our own timing of each spawn to its exit.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newService } from '../app.ts';
import type { Peer } from '../peers/peer.ts';
import { run, type Command } from '../support/proc.ts';
import type { Scope } from '../support/scope.ts';
import { median, round } from '../support/stats.ts';
import { attempt, rowOf, skippedRow, withRatios, type Metric, type Row, type ScenarioResult } from './result.ts';

/** How the scenario runs. */
export interface StartOptions {
  /** Timed spawns per command (after 2 warm-up spawns that fill the compile cache). */
  spawns: number;
  /** hyperfine's path; undefined to time the spawns ourselves. */
  hyperfine: string | undefined;
  work: string;
  feed: string;
}

/** One command's timings. */
export interface StartSample {
  ms: number;
  timesMs: number[];
}

const METRICS: Metric[] = [{ key: 'ms', label: 'start to exit', unit: 'ms' }];
const WARMUP = 2;

/** A shell word for hyperfine's own splitting (it runs the command without a shell). */
function word(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

async function withHyperfine(hyperfine: string, command: Command, spawns: number, work: string): Promise<number[]> {
  const out = join(work, `hyperfine-${process.pid}-${Date.now()}.json`);
  try {
    const line = [command.file, ...command.args].map(word).join(' ');
    await promisify(execFile)(hyperfine, ['-N', '--warmup', String(WARMUP), '--runs', String(spawns), '--style', 'none', '--export-json', out, line], { env: command.env ?? process.env, cwd: command.cwd });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ times: number[] }> };
    return result.results[0]!.times.map((s) => round(s * 1000, 1));
  } finally {
    rmSync(out, { force: true });
  }
}

async function withSpawns(command: Command, spawns: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + spawns; i++) {
    const t0 = performance.now();
    await run(command);
    if (i >= WARMUP) times.push(round(performance.now() - t0, 1));
  }
  return times;
}

async function time(command: Command, options: StartOptions): Promise<StartSample> {
  const timesMs = options.hyperfine === undefined ? await withSpawns(command, options.spawns) : await withHyperfine(options.hyperfine, command, options.spawns, options.work);
  return { ms: round(median(timesMs), 1), timesMs };
}

/** Runs the scenario for `peers` (the first is outlast, the base of the ratios). */
export async function startUp(peers: readonly Peer[], options: StartOptions, scope: Scope): Promise<ScenarioResult> {
  const floor = rowOf('node -e 0 (floor)', [await time({ file: process.execPath, args: ['-e', '0'] }, options)], METRICS);
  const versions: Row[] = [];
  const statuses: Row[] = [];
  const failures: string[] = [];
  for (const peer of peers) {
    const reason = peer.unavailable();
    if (reason !== undefined) {
      statuses.push(skippedRow(`${peer.name}: status`, reason));
      continue;
    }
    await attempt(`start-up: ${peer.name}`, failures, async () => {
      const service = await newService(options.work, options.feed);
      try {
        const running = await peer.setup(service, scope);
        try {
          const { version, status } = running.commands();
          for (const [command, rows] of [[version, versions], [status, statuses]] as const) {
            if (command === undefined) continue;
            const got = await time(command, options);
            console.error(`start-up: ${command.label ?? command.file}: median ${got.ms} ms`);
            rows.push(rowOf(command.label ?? command.file, [got], METRICS));
          }
        } finally {
          await running.teardown();
        }
      } finally {
        rmSync(service.appDir, { recursive: true, force: true });
      }
    });
  }
  const rows = [...withRatios([...versions, floor], versions[0] ?? floor, METRICS), ...withRatios(statuses, statuses[0] ?? floor, METRICS)];
  return {
    id: 'start-up',
    title: 'Start-up',
    method: `${options.hyperfine === undefined ? 'Each spawn timed to its exit by the bench' : 'hyperfine -N (no shell)'}, ${WARMUP} warm-up runs, median of ${options.spawns}; status calls ask a running supervisor of each kind. outlast is the installed package (npm pack, then the tarball installed into a temp prefix), or, where marked (checkout), this checkout's TypeScript sources; the compile cache is on.`,
    metrics: METRICS,
    rows,
    notes: failures.map((f) => `failed, left out: ${f}`),
  };
}
