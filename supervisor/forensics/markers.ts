/**
 * Restart-window markers: small JSON files in `<stateDir>/markers/`, one
 * fsync each, written at the moments a silent death could hide between:
 * before a restart (old process), at the first line of the new process, once
 * ready, and at every signal, exit and uncaught exception. `outlast why`
 * reads them afterwards. One file per marker (no shared log) means a marker
 * written just before a SIGKILL is never lost in a buffer.
 */
import { join } from 'node:path';
import { OutlastError } from '../errors.ts';
import type { Host } from '../host/host.ts';
import { isoTime } from '../iso-time.ts';

/** What a marker records. */
export type MarkerKind = 'pre-restart' | 'first-line' | 'ready' | 'signal' | 'exit' | 'exception' | 'planned-stop';

/** One marker. */
export interface Marker {
  kind: MarkerKind;
  at: string;
  atMs: number;
  pid: number;
  [key: string]: unknown;
}

/** Markers kept: the newest this many, none older than MAX_AGE_MS. */
export const MAX_MARKERS = 200;
export const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** The markers dir of a state dir. */
export function markerDir(stateDir: string): string {
  return join(stateDir, 'markers');
}

/** Writes a marker; never throws (forensics must not be what kills us). */
export async function writeMarker(host: Host, stateDir: string, kind: MarkerKind, fields: Record<string, unknown> = {}): Promise<void> {
  const atMs = host.clock.now();
  const marker: Marker = { kind, at: isoTime(atMs), atMs, pid: host.pid, ...fields };
  const dir = markerDir(stateDir);
  try {
    await host.fs.mkdir(dir, 0o755);
    // Time first, so a plain sort of the names is chronological.
    await host.fs.writeDurable(join(dir, `${atMs}-${host.pid}-${kind}-${host.randomToken(3)}.json`), `${JSON.stringify(marker)}\n`);
  } catch {
    // A full disk or a read-only state dir costs us the marker, not the process.
  }
}

/**
 * Every readable marker, oldest first. Torn or foreign files are skipped.
 * Throws NOT_FOUND when the state dir itself is missing: a mistyped
 * --state-dir must not read as "nothing happened".
 */
export async function readMarkers(host: Host, stateDir: string): Promise<Marker[]> {
  if (!(await host.fs.exists(stateDir))) {
    throw new OutlastError('NOT_FOUND', `state dir ${stateDir} does not exist: give the --state-dir of a supervisor that has run (default ./.outlast)`);
  }
  const dir = markerDir(stateDir);
  const names = (await host.fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const markers: Marker[] = [];
  for (const name of names) {
    try {
      const marker = JSON.parse(await host.fs.readFile(join(dir, name))) as Marker;
      if (typeof marker.kind === 'string' && typeof marker.atMs === 'number' && typeof marker.pid === 'number') markers.push(marker);
    } catch {
      // Torn by a crash mid-write: skip it.
    }
  }
  return markers.sort((a, b) => a.atMs - b.atMs);
}

/** Drops markers beyond the newest MAX_MARKERS and those older than MAX_AGE_MS. */
export async function rotateMarkers(host: Host, stateDir: string): Promise<number> {
  const dir = markerDir(stateDir);
  const names = (await host.fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const cutoff = host.clock.now() - MAX_AGE_MS;
  const doomed = names.filter((name, i) => i < names.length - MAX_MARKERS || Number(name.split('-')[0]) < cutoff);
  for (const name of doomed) await host.fs.rm(join(dir, name));
  return doomed.length;
}
