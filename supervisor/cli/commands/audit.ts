/** `outlast audit`: the static shutdown linter, and with --live a real stop under load. */
import { constants } from 'node:os';
import { relative } from 'node:path';
import type { Command } from 'commander';
import type { LiveFlags, LivePlan, LiveReport } from '../../audit/live/index.ts';

// The parser (@babel/parser) is large; load it only when `audit` runs, not for every command.
const loadAudit = () => import('../../audit/index.ts');
const loadLive = () => import('../../audit/live/index.ts');
import { OutlastError } from '../../errors.ts';
import type { Host } from '../../host/host.ts';
import type { CliContext } from '../context.ts';

interface AuditFlags extends Omit<LiveFlags, 'command'> {
  json?: boolean;
  live?: boolean;
}

/**
 * Commander hands `audit a b -- node s.js` over as one list of operands;
 * what followed `--` on the command line is the service command. Only the
 * root program's `rawArgs` (set by parse, untyped) still shows the `--`:
 * `args` keeps or drops it depending on the options before it.
 */
function splitOperands(operands: readonly string[], command: Command): { paths: string[]; command: string[] } {
  let root = command;
  while (root.parent !== null) root = root.parent;
  const given = (root as unknown as { rawArgs?: readonly string[] }).rawArgs ?? [];
  const dash = given.indexOf('--');
  const commandLength = dash === -1 ? 0 : given.length - dash - 1;
  return { paths: operands.slice(0, operands.length - commandLength), command: operands.slice(operands.length - commandLength) };
}

const INTERRUPTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const LIVE_ONLY = ['config', 'healthUrl', 'port', 'budget', 'readyTimeout', 'connections'] as const;

/**
 * Runs the live audit with the audit's own stop signals turned into an
 * abort: the service runs in a group of its own, so a Ctrl-C never reaches
 * it, and the live run must SIGKILL it before we go.
 */
async function live(host: Host, plan: LivePlan): Promise<{ report: LiveReport; interruptedBy: NodeJS.Signals | undefined }> {
  const abort = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const unsubscribe = INTERRUPTS.map((signal) =>
    host.onSignal(signal, (received) => {
      interruptedBy ??= received;
      abort.abort();
    }),
  );
  try {
    const { runLive, nodeLiveNet } = await loadLive();
    return { report: await runLive(host, nodeLiveNet, plan, abort.signal), interruptedBy };
  } finally {
    for (const off of unsubscribe) off();
  }
}

/** Registers `outlast audit`. */
export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('check that services stop in time: static rules over their sources, and with --live a real stop under load')
    .argument('[paths...]', 'service sources, one service per path (default: .); with --live, the service command goes after --')
    .option('--json', 'print {findings, live} as JSON')
    .option('--live', 'start the service, hold 50 idle keep-alive connections and a long-lived one, send the stop signal, and time the exit')
    .option('-c, --config <file>', 'with --live: command, env, health check, stop signal and budget from an outlast config')
    .option('--health-url <url>', 'with --live: wait until this answers 2xx/3xx (default: until the port accepts connections)')
    .option('--port <port>', 'with --live: where the service listens, also passed to it as PORT (default: a free port passed as PORT)')
    .option('--budget <ms>', "with --live: the stop budget before SIGKILL (default: the config's stopTimeoutMs, else 10000)")
    .option('--ready-timeout <ms>', 'with --live: how long the service has to become ready (default 30000)')
    .option('--connections <n>', 'with --live: idle keep-alive connections to hold (default 50)')
    .action(async (operands: string[], flags: AuditFlags, command: Command) => {
      const { paths, command: service } = splitOperands(operands, command);
      if (flags.live !== true) {
        const misplaced = LIVE_ONLY.find((key) => flags[key] !== undefined);
        if (service.length > 0 || misplaced !== undefined) throw new OutlastError('BAD_REQUEST', `${misplaced === undefined ? 'a service command after "--"' : `--${misplaced.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`} needs --live`);
      }
      const { auditCommand, auditPaths, formatFindings, hasHigh } = await loadAudit();
      const { formatLive, nodeLiveNet, planLive } = await loadLive();
      const plan = flags.live === true ? await planLive(ctx.host, nodeLiveNet, { ...flags, command: service }) : undefined;
      // With a config, the service's own directory is what to read by default.
      const fallback = flags.config !== undefined && plan !== undefined ? relative(ctx.host.cwd, plan.cwd) || '.' : '.';
      // With --live and no paths: the service's entry file and its imports, not the whole cwd.
      const findings =
        paths.length === 0 && plan !== undefined ? await auditCommand(plan.command, plan.cwd, ctx.host.cwd, fallback) : await auditPaths(paths.length > 0 ? paths : [fallback]);
      const { report, interruptedBy } = plan === undefined ? { report: undefined, interruptedBy: undefined } : await live(ctx.host, plan);
      const text = `${formatFindings(findings)}${report === undefined ? '' : `\n${formatLive(report)}`}`;
      ctx.print(flags.json === true ? `${JSON.stringify({ findings, ...(report === undefined ? {} : { live: report }) }, null, 2)}\n` : text);
      if (interruptedBy !== undefined) ctx.setExit(128 + (constants.signals[interruptedBy] ?? 0));
      else if (hasHigh(findings) || report?.severity === 'high') ctx.setExit(1);
    });
}
