/**
 * Judging a live stop: how the service ended after the stop signal, in the
 * words and severities of the static findings, so CI fails on the same
 * scale (any `high` exits 1).
 */
import type { Severity } from '../finding.ts';
import type { StopOutcome } from '../../service/stop.ts';

/**
 * - `clean`: exited 0 within the budget;
 * - `exit-code`: exited within the budget, but not with 0;
 * - `signaled`: died of a signal (the stop signal itself: no handler);
 * - `would-be-killed`: still running when the budget ran out;
 * - `not-ready`: never became ready, so nothing was measured;
 * - `exited-early`: exited before the stop signal was sent;
 * - `interrupted`: the audit itself was stopped (Ctrl-C).
 */
export type LiveVerdict = 'clean' | 'exit-code' | 'signaled' | 'would-be-killed' | 'not-ready' | 'exited-early' | 'interrupted';

/** A verdict with its severity (null when all is well) and a sentence. */
export interface Judgement {
  verdict: LiveVerdict;
  severity: Severity | null;
  message: string;
}

/** What a stop under load says about the service. */
export function judgeStop(stop: StopOutcome, stopSignal: NodeJS.Signals, budgetMs: number, exitedAfterMs: number, leftovers: boolean): Judgement {
  if (stop.forced) {
    return { verdict: 'would-be-killed', severity: 'high', message: `did not exit within the budget (${budgetMs} ms): would be SIGKILLed` };
  }
  const group = leftovers ? `; processes it left in its group were still there at the budget and were SIGKILLed` : '';
  const exit = stop.exit;
  if (exit.kind === 'signaled') {
    const why = exit.signal === stopSignal ? `: nothing handles ${stopSignal}, so requests in flight are cut` : '';
    return { verdict: 'signaled', severity: 'high', message: `was killed by ${exit.signal} after ${exitedAfterMs} ms${why}${group}` };
  }
  if (exit.kind === 'exited' && exit.code === 0) {
    return { verdict: 'clean', severity: leftovers ? 'medium' : null, message: `exited cleanly in ${exitedAfterMs} ms${group}` };
  }
  const code = exit.kind === 'exited' ? `code ${exit.code}` : exit.errno;
  return { verdict: 'exit-code', severity: 'medium', message: `exited with ${code} after ${exitedAfterMs} ms: in time, but a stop that fails looks like a crash to a supervisor${group}` };
}
