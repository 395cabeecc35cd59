/**
 * Human output of a live run. `--json` prints the report itself, so this
 * text is free to change.
 */
import type { LiveReport } from './run-live.ts';
import type { StreamState } from './live-net.ts';

const STREAM_WORDS: Record<StreamState, string> = {
  upgraded: 'an upgraded (WebSocket-style) connection',
  streaming: 'a streaming answer still open',
  pending: 'a request still unanswered',
  answered: 'no long-lived connection (the upgrade request got a plain answer)',
  closed: 'no long-lived connection (the service closed it)',
};

const FIX =
  'fix: drain on SIGTERM: stop accepting, close idle keep-alive and upgraded connections, give requests in flight a bounded time, then exit; ' +
  "for Node, gracefulShutdown(server) from 'outlast/shutdown' does all of it. Keep the drain below the budget of whatever stops the service.";

/** The live block: what was held, the stop, the verdict, and the service's last output when it went wrong. */
export function formatLive(report: LiveReport): string {
  const lines = [`live: ${report.command.join(' ')} (pid ${report.pid ?? '-'}) on ${report.target.host}:${report.target.port}`];
  if (report.readyAfterMs !== null) {
    const stream = report.held.stream === null ? 'no long-lived connection' : STREAM_WORDS[report.held.stream];
    lines.push(`  ready after ${report.readyAfterMs} ms; held ${report.held.idle}/${report.held.requested} idle keep-alive connections and ${stream}`);
  }
  for (const error of report.held.errors) lines.push(`  connection error: ${error}`);
  const verdict = `${report.severity === null ? '' : `${report.severity}: `}${report.message}`;
  const budget = report.verdict === 'would-be-killed' ? '' : ` (budget ${report.budgetMs} ms)`;
  lines.push(report.phases.length > 0 ? `  ${report.stopSignal} -> ${verdict}${budget}` : `  ${verdict}`);
  if (report.severity !== null) {
    if (report.verdict === 'would-be-killed' || report.verdict === 'signaled') lines.push(`  ${FIX}`);
    if (report.output.length > 0) lines.push('  last output of the service:', ...report.output.map((line) => `    ${line}`));
  }
  return `${lines.join('\n')}\n`;
}
