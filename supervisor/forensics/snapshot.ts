/**
 * The shutdown snapshot: who and what was around when a signal reached the
 * supervisor, taken inside the signal handler and logged as one line.
 *
 * It is built only from a handful of small synchronous /proc reads and
 * in-process data, so it costs well under 10 ms and never waits on another
 * process: anything slower (ps, the journal) belongs in the detached
 * diagnostic (diag.ts), never here. Node does not hand a signal handler the
 * sender's pid (siginfo), so the parent and the markers are the best clues.
 */
import { parseCgroup, systemdCgroupPath } from '../../platform/cgroup.ts';
import { unitFromCgroupPath } from '../../platform/probes/systemd.ts';
import type { Host } from '../host/host.ts';
import { readPlannedStop, type PlannedStopState } from './planned-stop.ts';
import { join } from 'node:path';

/** One snapshot, logged as the `snapshot` field of a single line. */
export interface ShutdownSnapshot {
  signal: NodeJS.Signals;
  pid: number;
  /** From /proc/self/status at the signal: a reparented supervisor shows its new parent here. */
  ppid: number;
  parent: { name: string | null; cmdline: string | null };
  /** INVOCATION_ID is set: a systemd unit started us. */
  underSystemd: boolean;
  /** The systemd unit our cgroup is in, when the path names one. */
  unit: string | null;
  loadavg1m: number | null;
  /** A debugger or strace attached to us; only present when non-zero. */
  tracerPid?: number;
  plannedStop: PlannedStopState;
  /** A detached restart helper is armed (restart-helper.json): a takeover is under way. */
  takeover?: { helperPid: number | null };
  /** What taking this snapshot cost. */
  tookMs: number;
}

const MAX_CMDLINE = 300;

/** `Key:\tvalue` lines of a /proc/<pid>/status file. */
function statusField(text: string | undefined, key: string): string | undefined {
  const line = text?.split('\n').find((l) => l.startsWith(`${key}:`));
  return line?.slice(key.length + 1).trim();
}

function cmdline(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  // NUL-separated; a process may rewrite it, so trim what it left at the end.
  return raw.replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, MAX_CMDLINE);
}

function takeover(host: Host, stateDir: string): ShutdownSnapshot['takeover'] {
  const text = host.fs.readSync(join(stateDir, 'restart-helper.json'));
  if (text === undefined) return undefined;
  try {
    const { pid } = JSON.parse(text) as { pid?: unknown };
    return { helperPid: typeof pid === 'number' ? pid : null };
  } catch {
    return { helperPid: null };
  }
}

/** Takes the snapshot for `signal`. Never throws: every missing fact is null. */
export function shutdownSnapshot(host: Host, signal: NodeJS.Signals, stateDir: string): ShutdownSnapshot {
  const started = host.clock.monotonic();
  const { fs } = host;
  const status = fs.readSync('/proc/self/status');
  const ppid = Number(statusField(status, 'PPid') ?? host.ppid);
  const cgroup = systemdCgroupPath(parseCgroup(fs.readSync('/proc/self/cgroup')));
  const load = Number(fs.readSync('/proc/loadavg')?.split(' ')[0] ?? Number.NaN);
  const tracerPid = Number(statusField(status, 'TracerPid') ?? 0);
  const helper = takeover(host, stateDir);
  const snapshot: ShutdownSnapshot = {
    signal,
    pid: host.pid,
    ppid,
    parent: { name: fs.readSync(`/proc/${ppid}/comm`)?.trim() ?? null, cmdline: cmdline(fs.readSync(`/proc/${ppid}/cmdline`)) },
    underSystemd: host.env.INVOCATION_ID !== undefined && host.env.INVOCATION_ID !== '',
    unit: cgroup === undefined ? null : (unitFromCgroupPath(cgroup.path)?.unit ?? null),
    loadavg1m: Number.isFinite(load) ? load : null,
    ...(tracerPid > 0 ? { tracerPid } : {}),
    plannedStop: readPlannedStop(host, stateDir),
    ...(helper === undefined ? {} : { takeover: helper }),
    tookMs: 0,
  };
  snapshot.tookMs = Math.round((host.clock.monotonic() - started) * 1000) / 1000;
  return snapshot;
}
