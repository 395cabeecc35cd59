/** `outlast check`, `outlast apply` and `outlast rollback`. */
import type { Command } from 'commander';
import { OutlastError, isErrorCode } from '../../errors.ts';
import type { Operation } from '../../update/journal.ts';
import type { UpToDate } from '../../update/apply.ts';
import type { RolloutVerdict } from '../../update/rollout.ts';
import type { CheckResult } from '../../update/updater.ts';
import { connect, type ApiClient } from '../client.ts';
import { NAME_HELP, output, type CliContext } from '../context.ts';
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.ts';

type Accepted = { id: string; from: string | null; to: string };

function progressBar(done: number, total: number | null): string {
  if (total === null || total === 0) return `${(done / 1048576).toFixed(1)} MiB`;
  const width = 24;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round((done / total) * 100)}%`;
}

/**
 * Follows an update to its end through `/events`, printing each phase, and
 * returns the final operation. Subscribing first means no phase is missed.
 */
async function applyAndWait(ctx: CliContext, client: ApiClient, body: Record<string, unknown>, json: boolean): Promise<Operation | UpToDate> {
  const tty = process.stderr.isTTY === true && !json;
  let id: string | undefined;
  let finished!: (id: string) => void;
  const done = new Promise<string>((resolve) => (finished = resolve));
  const seen: Array<{ id: string; phase: string }> = [];
  const close = await client.events((type, data) => {
    if (type === 'update_progress' && tty) {
      ctx.printError(`\r  fetch ${progressBar(Number(data.done), data.total === null ? null : Number(data.total))}`);
      return;
    }
    if (type !== 'update' || typeof data.id !== 'string') return;
    const entry = { id: data.id, phase: String(data.phase) };
    seen.push(entry);
    const report = (e: { id: string; phase: string }): void => {
      if (!json && e.phase === 'lock') ctx.printError(`update ${e.id}: ${typeof data.from === 'string' ? data.from : 'nothing'} -> ${typeof data.to === "string" ? data.to : "?"}\n`);
      if (!json) ctx.printError(`${tty ? '\r\x1b[K' : ''}  ${e.phase === 'done' ? `done: ${String(data.state)}` : e.phase}\n`);
      if (e.phase === 'done') finished(e.id);
    };
    if (id === undefined || entry.id === id) report(entry);
  });
  try {
    const answer = await client.call<Accepted | UpToDate>('POST', '/updates/apply', body);
    if ('upToDate' in answer) return answer;
    id = answer.id;
    if (seen.some((e) => e.id === answer.id && e.phase === 'done')) finished(answer.id);
    await done;
    return await client.call<Operation>('GET', `/updates/${answer.id}`);
  } finally {
    close();
  }
}

/**
 * `apply [name] [version]`: with two operands, NAME then VERSION; with one, a
 * version when it looks like one (starts with a digit, or v and a digit),
 * otherwise a NAME.
 */
export function splitApplyOperands(first: string | undefined, second: string | undefined): { name?: string; version?: string } {
  if (second !== undefined) return { ...(first === undefined ? {} : { name: first }), version: second };
  if (first === undefined) return {};
  return /^v?\d/.test(first) ? { version: first } : { name: first };
}

/** The line for the end of an applied update: a rollback reads from the version left to the one returned to. */
export function formatApplyResult(result: Operation): string {
  const why = result.error === undefined ? '' : ` (${result.error.message})`;
  if (result.state === 'rolled-back' && result.kind === 'rollback') return `rolled back to ${result.to} (from ${result.from ?? 'nothing'})${why}\n`;
  if (result.state === 'rolled-back' && result.from !== null) return `rolled back to ${result.from} (${result.to} failed${result.error === undefined ? '' : `: ${result.error.message}`})\n`;
  return `${result.state}: ${result.from ?? 'nothing'} -> ${result.to}${why}\n`;
}

/** Where a device stands in a rollout, for a person. */
function rolloutLine(r: RolloutVerdict): string {
  const why = `rollout ${r.percent}%, salt "${r.salt}", device ${r.device} in bucket ${r.bucket}`;
  return r.included ? `this device is in the rollout of ${r.version} (${why})` : `${r.version} available, not yet for this device (${why} >= ${r.percent}): outlast apply ${r.version} installs it now`;
}

/** What an apply that had nothing to install prints. */
export function formatUpToDate(answer: UpToDate): string {
  return `up to date (${answer.version})\n${answer.rollout === undefined ? '' : `${rolloutLine(answer.rollout)}\n`}`;
}

/**
 * What `outlast check` prints: the news, a newer version skipped as bad
 * with how to try it anyway, and where this device stands in a staged rollout.
 */
export function formatCheck(result: CheckResult): string {
  const news = result.available ? `update available: ${result.current ?? 'nothing'} -> ${result.latest}` : `up to date (${result.current ?? 'nothing installed'})`;
  const lines = [news];
  const bad = result.markedBad;
  if (bad !== undefined) lines.push(`${bad.version} available, marked bad (${bad.reason}): outlast apply ${bad.version} --force`);
  if (result.rollout !== undefined) lines.push(rolloutLine(result.rollout));
  return `${lines.join('\n')}\n`;
}

/** Registers the update commands. */
export function registerUpdates(program: Command, ctx: CliContext): void {
  addTargetOptions(program.command('check').description('ask the update source for a newer version').argument('[name]', NAME_HELP))
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string | undefined, flags: TargetFlags & { json?: boolean }) => {
      const client = await connect(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      const result = await client.call<CheckResult>('GET', '/updates/check?force=1');
      output(ctx, flags.json, result, formatCheck(result));
    });

  addTargetOptions(
    program
      .command('apply')
      .description('install a version (default: the newest allowed) under the update lock')
      .argument('[name]', `${NAME_HELP}; a lone operand that starts with a digit is the version`)
      .argument('[version]', 'exact version to install'),
  )
    .option('--force', 'allow a downgrade, a known-bad version, or a busy service')
    .option('--wait', 'follow the update to its end; exit non-zero on failure or rollback')
    .option('--json', 'print the API answer as JSON')
    .action(async (first: string | undefined, second: string | undefined, flags: TargetFlags & { force?: boolean; wait?: boolean; json?: boolean }) => {
      const { name, version } = splitApplyOperands(first, second);
      const client = await connect(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      const body = { ...(version === undefined ? {} : { version }), ...(flags.force === true ? { force: true } : {}) };
      if (flags.wait !== true) {
        const answer = await client.call<Accepted | UpToDate>('POST', '/updates/apply', body);
        output(ctx, flags.json, answer, 'upToDate' in answer ? formatUpToDate(answer) : `update ${answer.id} started: ${answer.from ?? 'nothing'} -> ${answer.to}\n`);
        return;
      }
      const result = await applyAndWait(ctx, client, body, flags.json === true);
      if ('upToDate' in result) return output(ctx, flags.json, result, formatUpToDate(result));
      output(ctx, flags.json, result, formatApplyResult(result));
      if (result.state !== 'committed') {
        const code = result.error !== undefined && isErrorCode(result.error.code) ? result.error.code : 'HEALTH_GATE_FAILED';
        ctx.setExit(new OutlastError(code, result.error?.message ?? result.state).exitCode);
      }
    });

  addTargetOptions(program.command('rollback').description('return to the previous version').argument('[name]', NAME_HELP))
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string | undefined, flags: TargetFlags & { json?: boolean }) => {
      const client = await connect(ctx.host, (await resolveTarget(ctx.host, name, flags)).stateDir);
      const answer = await client.call<Accepted>('POST', '/updates/rollback');
      output(ctx, flags.json, answer, `rollback ${answer.id} started: ${answer.from ?? 'nothing'} -> ${answer.to}\n`);
    });
}
