/**
 * Scenario 4: SIGTERM → exit with idle keep-alive connections held, for a
 * naive `server.close()` service and for the same service using
 * outlast/shutdown. The measuring is bench/shutdown.ts's (`outlast audit
 * --live`'s code), imported, not copied; runs are interleaved.
 */
import { BUDGET_MS, CONNECTIONS, measure, type Mode, type Sample } from '../shutdown.ts';
import { round } from '../support/stats.ts';
import { rowOf, withRatios, type Metric, type ScenarioResult } from './result.ts';

const METRICS: Metric[] = [
  { key: 'exitMs', label: 'SIGTERM → exit', unit: 'ms' },
  { key: 'killed', label: 'SIGKILLed at the budget', unit: 'count' },
];

const LABEL: Record<Mode, string> = { helper: 'outlast/shutdown', naive: 'naive server.close()' };

/** Runs the scenario `runs` times per mode and case. */
export async function stopIdleConnections(options: { runs: number }): Promise<ScenarioResult> {
  const cases = [
    { name: `${CONNECTIONS} idle keep-alive`, short: 'idle', stream: false },
    { name: `${CONNECTIONS} idle keep-alive + 1 upgraded`, short: 'idle + upgraded', stream: true },
  ];
  const rows = [];
  for (const c of cases) {
    const samples: Record<Mode, Sample[]> = { helper: [], naive: [] };
    for (let i = 0; i < options.runs; i++) {
      for (const mode of ['helper', 'naive'] as const) {
        const s = await measure(mode, c.stream);
        samples[mode].push(s);
        console.error(`stop, ${c.name}, run ${i + 1}: ${LABEL[mode]}: ${s.killed ? 'SIGKILLed at the budget' : `${s.ms} ms`}`);
      }
    }
    const row = (mode: Mode) => ({
      ...rowOf(`${LABEL[mode]}, ${c.name}`, samples[mode].map((s) => ({ exitMs: round(s.ms, 1), killed: s.killed ? 1 : 0, held: s.held })), METRICS),
      short: `${mode === 'helper' ? 'outlast/shutdown' : 'naive'} (${c.short})`,
    });
    const helper = row('helper');
    // killed is a count over the runs, not a median.
    const count = (mode: Mode) => samples[mode].filter((s) => s.killed).length;
    helper.median.killed = count('helper');
    const naive = row('naive');
    naive.median.killed = count('naive');
    rows.push(...withRatios([helper, naive], helper, METRICS));
  }
  return {
    id: 'stop-idle-connections',
    title: 'Stop under idle connections',
    method: `SIGTERM to the service's process group with the connections held, timed to the exit, SIGKILL at the ${BUDGET_MS} ms budget (as \`outlast audit --live\` measures); the same test service in both modes; median of ${options.runs} runs, interleaved; "SIGKILLed" counts runs.`,
    metrics: METRICS,
    rows,
    notes: [],
  };
}
