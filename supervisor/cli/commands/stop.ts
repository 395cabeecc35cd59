/** `outlast stop`: a planned stop of the supervisor and its service, through the API. */
import type { Command } from 'commander';
import type { StopAnswer } from '../../api/stop-route.ts';
import { OutlastError } from '../../errors.ts';
import { readMarkers } from '../../forensics/markers.ts';
import type { Host } from '../../host/host.ts';
import { parseProcStat, processStartTime } from '../../state/child-record.ts';
import { connect } from '../client.ts';
import { NAME_HELP, output, type CliContext } from '../context.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

type Answer = StopAnswer & { accepted: boolean; planned?: boolean; reason?: string };

const POLL_MS = 50;
/** Beyond the drain budget: the supervisor's own clean-up, and a slow machine. */
const WAIT_MARGIN_MS = 30_000;

/**
 * Whether `pid` has ended. A zombie has (only its parent's wait is missing),
 * and so has a pid whose start time changed (recycled for another process).
 */
async function ended(host: Host, pid: number, startTime: string | null): Promise<boolean> {
  if (!host.kill(pid, 0)) return true;
  let stat: string;
  try {
    stat = await host.fs.readFile(`/proc/${pid}/stat`);
  } catch {
    // No /proc entry: gone, unless there is no /proc at all (then kill(0) decides).
    return startTime !== null;
  }
  const now = parseProcStat(stat);
  return now.state === 'Z' || now.state === 'X' || (startTime !== null && now.startTime !== startTime);
}

/** Waits for the supervisor to end; returns its exit code from the `exit` marker, when it wrote one. */
async function waitStopped(host: Host, stateDir: string, pid: number, startTime: string | null, timeoutMs: number): Promise<number | null> {
  const deadline = host.clock.monotonic() + timeoutMs;
  while (!(await ended(host, pid, startTime))) {
    if (host.clock.monotonic() > deadline) throw new OutlastError('TIMEOUT', `the supervisor (pid ${pid}) is still running ${timeoutMs} ms after the stop was accepted`, { details: { pid } });
    await host.clock.sleep(POLL_MS);
  }
  const exit = (await readMarkers(host, stateDir)).filter((m) => m.kind === 'exit' && m.pid === pid).at(-1);
  return typeof exit?.code === 'number' ? exit.code : null;
}

/** Registers `outlast stop`. */
export function registerStop(program: Command, ctx: CliContext): void {
  addTargetOptions(
    program
      .command('stop')
      .description('stop the supervisor and its service gracefully, as planned (it exits 0; `outlast why` says "stopped as planned")')
      .argument('[name]', NAME_HELP),
  )
    .option('--reason <text>', 'why, for the logs and the markers', 'outlast stop')
    .option('--wait', 'wait until the supervisor has exited, and print its exit code')
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string | undefined, flags: TargetFlags & { reason: string; wait?: boolean; json?: boolean }) => {
      const { stateDir } = await resolveTarget(ctx.host, name, flags);
      const client = await connect(ctx.host, stateDir);
      const startTime = await processStartTime(ctx.host, client.info.pid);
      const answer = await client.call<Answer>('POST', '/stop', { reason: flags.reason });
      const what = answer.alreadyStopping === true ? `the supervisor (pid ${answer.pid}) is already stopping` : `planned stop requested: supervisor pid ${answer.pid}, drain budget ${answer.drainMs} ms`;
      if (flags.wait !== true) return output(ctx, flags.json, answer, `${what}\n`);
      const exitCode = await waitStopped(ctx.host, stateDir, answer.pid, startTime, answer.drainMs + WAIT_MARGIN_MS);
      output(ctx, flags.json, { ...answer, stopped: true, exitCode }, `${what}\nstopped${exitCode === null ? '' : ` (exit code ${exitCode})`}\n`);
    });
}
