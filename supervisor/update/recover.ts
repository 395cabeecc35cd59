/**
 * Start-up recovery after a crash (SIGKILL, power loss) at any point of an
 * update: after it, `current` points at a complete release (or is absent),
 * no staging dir or temp link is left, the lock is free, and the journal's
 * last operation has a final state that says what happened.
 */
import type { Host } from '../host/host.ts';
import { markBad } from './bad-versions.ts';
import type { Logger } from '../log/logger.ts';
import { isFinal, type Journal, type Operation, type OperationPhase } from './journal.ts';
import type { UpdateLock } from './lock.ts';
import { hasRelease, linkedVersion, pointLink, removeRelease, removeStaging, removeTempLinks, restoreLinks, type ReleasePaths } from './releases.ts';
import { pendingHandover, type Pending } from './self-update.ts';
import { isoTime } from '../iso-time.ts';

const ORDER: readonly OperationPhase[] = ['lock', 'busy-wait', 'fetch', 'install', 'preflight', 'stage', 'switch', 'restart', 'health-gate', 'rollback', 'commit', 'done'];

function reached(op: Operation, phase: OperationPhase): boolean {
  return ORDER.indexOf(op.phase) >= ORDER.indexOf(phase);
}

/** Points `current` at `version`, or removes it when there is nothing to point at. */
async function settleCurrent(host: Host, paths: ReleasePaths, version: string | null): Promise<void> {
  if (version !== null && (await hasRelease(host, paths, version))) {
    await pointLink(host, paths, paths.current, version);
  } else {
    await host.fs.rm(paths.current);
  }
}

/** Finishes or undoes an operation the previous process did not end. */
async function resolveOperation(host: Host, paths: ReleasePaths, op: Operation): Promise<Operation> {
  const current = (await linkedVersion(host, paths.current)) ?? null;
  const died = `the supervisor died during ${op.phase}`;
  if (op.selfRestart === true && op.phase === 'rollback') {
    // A self-update's rollback that died before `current` was back on the old
    // version: finish it, and make sure the version it left is known bad, or
    // an automatic update would bring it straight back.
    if (op.from !== null) await restoreLinks(host, paths, op.from, op.previousBefore ?? null);
    await markBad(host, paths.stateDir, op.to, op.error?.message ?? 'rolled back after its health gate failed');
    return { ...op, state: 'rolled-back', phase: 'done', error: op.error ?? { code: 'INTERRUPTED', message: `the supervisor died while rolling back from ${op.to}; back on ${op.from ?? 'no version'}` } };
  }
  if (op.kind === 'rollback') {
    // A rollback is finished, not undone: the version it left is known bad.
    await settleCurrent(host, paths, op.to);
    return { ...op, state: 'rolled-back', phase: 'done', error: { code: 'INTERRUPTED', message: `${died}; rollback to ${op.to} completed at start-up` } };
  }
  if (reached(op, 'commit') && op.phase !== 'rollback' && current === op.to) {
    // The health gate had passed: only the bookkeeping was left.
    return { ...op, state: 'committed', phase: 'done' };
  }
  if (reached(op, 'switch')) {
    if (op.from !== null && (await hasRelease(host, paths, op.from))) await restoreLinks(host, paths, op.from, op.previousBefore ?? null);
    else await settleCurrent(host, paths, op.from);
    if (op.to !== op.from) await removeRelease(host, paths, op.to);
    return { ...op, state: 'rolled-back', phase: 'done', error: { code: 'INTERRUPTED', message: `${died}, before ${op.to} was proven healthy; back on ${op.from ?? 'no version'}` } };
  }
  if (reached(op, 'stage') && current !== op.to) await removeRelease(host, paths, op.to);
  return { ...op, state: 'failed', phase: 'done', error: { code: 'INTERRUPTED', message: `${died}; nothing was switched` } };
}

/** What recovery found: an operation it settled, or one handed over to this image to resume. */
export type Recovered = { settled?: Operation; resume?: { op: Operation; pending: Pending } };

/** Runs recovery; the lock of a settled operation is cleared, a handed-over one is left for the resume to take over. */
export async function recoverUpdates(host: Host, paths: ReleasePaths, journal: Journal, lock: UpdateLock, logger: Logger): Promise<Recovered> {
  await host.fs.mkdir(paths.releases, 0o755);
  await removeTempLinks(host, paths);
  const leftovers = await removeStaging(host, paths);
  if (leftovers.length > 0) logger.warn({ leftovers }, 'removed staging leftovers of an interrupted update');
  const last = await journal.last();
  const pending = last === undefined ? undefined : pendingHandover(last, await linkedVersion(host, paths.current));
  if (last !== undefined && pending !== undefined) {
    logger.info({ id: last.id, from: last.from, to: last.to, pending }, pending === 'gate' ? 'resuming a self-update: the new version runs its health gate' : 'resuming a self-update: back on the old version, which must be ready again');
    return { resume: { op: last, pending } };
  }
  let settled: Operation | undefined;
  if (last !== undefined && !isFinal(last)) {
    settled = await resolveOperation(host, paths, last);
    settled.endedAt = isoTime(host.clock.now());
    await journal.write(settled);
    logger.warn({ id: settled.id, state: settled.state, from: settled.from, to: settled.to }, `recovered an interrupted ${settled.kind}: ${settled.error?.message ?? settled.state}`);
  }
  // A `current` whose release vanished (disk trouble, hand edits) falls back to `previous`.
  const current = await linkedVersion(host, paths.current);
  if (current !== undefined && !(await hasRelease(host, paths, current))) {
    const previous = await linkedVersion(host, paths.previous);
    logger.error({ current, previous }, 'current points at a missing release');
    await settleCurrent(host, paths, previous ?? null);
  }
  if (settled !== undefined) {
    // The operation is settled: whoever held its lock (a dead process, or this
    // very pid before an in-place re-exec) holds nothing any more.
    await lock.clear();
  } else {
    const holder = await lock.recover();
    if (holder !== undefined) logger.warn({ holder }, 'released the update lock of a dead process');
  }
  return settled === undefined ? {} : { settled };
}
