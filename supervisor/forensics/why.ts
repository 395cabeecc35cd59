/**
 * `outlast why`: turns the restart-window markers into a verdict, as a pure
 * function of the markers and of which pids are alive now.
 *
 * The windows, in the order a restart crosses them:
 *   pre-restart (old process) → first-line (new process, before heavy
 *   imports) → ready (supervisor up, service healthy) → exit or signal.
 * The last marker a process wrote says which window it died in; a run with
 * neither an exit nor a signal marker died of something it could not trap.
 */
import type { Marker } from './markers.ts';

/** The verdicts, most specific first. */
export type VerdictCode =
  | 'clean-restart'
  | 'restart-in-progress'
  | 'died-in-exec-window'
  | 'died-in-startup'
  | 'died-after-init'
  | 'killed-untrappably'
  | 'stopped'
  | 'running'
  | 'no-history';

/** What `why` concludes, with the markers that prove it. */
export interface Verdict {
  code: VerdictCode;
  summary: string;
  /** Downtime of a restart, from the pre-restart marker to ready. */
  downtimeMs?: number;
  evidence: Marker[];
}

const ms = (from: Marker, to: Marker): number => Math.round(to.atMs - from.atMs);

/** A marker field as text (fields are whatever the writer put there). */
export function field(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function ending(markers: Marker[], run: Marker): Marker | undefined {
  const mine = markers.filter((m) => m.pid === run.pid && m.atMs >= run.atMs);
  // A planned stop also leaves the SIGTERM that carried it out (in either
  // order within a millisecond): the plan is the better explanation.
  return mine.find((m) => m.kind === 'planned-stop') ?? mine.find((m) => m.kind === 'exit' || m.kind === 'signal');
}

function howItEnded(end: Marker): string {
  if (end.kind === 'signal') return `received ${field(end.signal)}`;
  if (end.kind === 'planned-stop') return `stopped as planned${end.reason === undefined || end.reason === null ? '' : ` (${field(end.reason)})`}`;
  return `exited (code ${field(end.code, '0')})`;
}

/** How the process that wrote `start` ended (or that it still runs). */
function fate(markers: Marker[], start: Marker, alive: (pid: number) => boolean): Verdict | undefined {
  const end = ending(markers, start);
  if (end !== undefined) {
    return { code: 'stopped', summary: `the last run (pid ${start.pid}) ${howItEnded(end)} at ${end.at}`, evidence: [start, end] };
  }
  if (alive(start.pid)) return undefined;
  return {
    code: 'killed-untrappably',
    summary: `the last run (pid ${start.pid}) left neither an exit nor a signal marker: it was killed by something it cannot trap (SIGKILL, the OOM killer, a cgroup kill) after ${start.kind} at ${start.at}`,
    evidence: [start],
  };
}

/** The verdict for `markers` (oldest first). */
export function explain(markers: readonly Marker[], alive: (pid: number) => boolean): Verdict {
  const all = [...markers];
  const pre = all.filter((m) => m.kind === 'pre-restart').at(-1);
  if (pre === undefined) {
    const lastStart = all.filter((m) => m.kind === 'ready' || m.kind === 'first-line').at(-1);
    if (lastStart === undefined) return { code: 'no-history', summary: 'no restart-window markers yet', evidence: [] };
    return fate(all, lastStart, alive) ?? { code: 'running', summary: `no restart recorded; pid ${lastStart.pid} runs since ${lastStart.at}`, evidence: [lastStart] };
  }
  const after = all.filter((m) => m.atMs >= pre.atMs);
  // The new process is whichever wrote a first-line after the pre-restart (the same pid for reexec).
  const first = after.find((m) => m.kind === 'first-line');
  const strategy = field(pre.strategy, 'unknown');
  if (first === undefined) {
    if (alive(pre.pid) && strategy !== 'reexec') {
      return { code: 'restart-in-progress', summary: `restart (${strategy}) requested at ${pre.at}; the old process ${pre.pid} is still up`, evidence: [pre] };
    }
    return {
      code: 'died-in-exec-window',
      summary: `the restart (${strategy}) at ${pre.at} never reached the first line of the new process: it died in the exec/loader window (killed right after exec or fork, before any JavaScript ran)`,
      evidence: [pre],
    };
  }
  const ready = after.find((m) => m.kind === 'ready' && m.pid === first.pid && m.atMs >= first.atMs);
  if (ready === undefined) {
    if (alive(first.pid)) return { code: 'restart-in-progress', summary: `pid ${first.pid} started ${ms(pre, first)} ms after the restart request and is not ready yet`, evidence: [pre, first] };
    const end = ending(after, first);
    const how = end === undefined ? 'with no exit or signal marker (killed untrappably)' : `after ${end.kind}${end.kind === 'signal' ? ` ${field(end.signal)}` : ''}`;
    return {
      code: 'died-in-startup',
      summary: `the new process (pid ${first.pid}) ran its first line ${ms(pre, first)} ms after the restart request but died in runtime start-up, before it was ready, ${how}`,
      evidence: end === undefined ? [pre, first] : [pre, first, end],
    };
  }
  const later = fate(after, ready, alive);
  if (later !== undefined && later.code === 'killed-untrappably') {
    return { ...later, code: 'died-after-init', summary: `the restart at ${pre.at} completed (ready after ${ms(pre, ready)} ms), but pid ${ready.pid} died later, after init: ${later.summary}`, evidence: [pre, first, ready] };
  }
  if (later !== undefined) return { ...later, evidence: [pre, first, ready, ...later.evidence.slice(1)] };
  return {
    code: 'clean-restart',
    summary: `clean restart (${strategy}${pre.reason === undefined ? '' : `, ${field(pre.reason)}`}): pid ${pre.pid} → ${first.pid}, ready ${ms(pre, ready)} ms after the request`,
    downtimeMs: ms(pre, ready),
    evidence: [pre, first, ready],
  };
}
