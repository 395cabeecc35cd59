/**
 * Applying an update, A/B style: nothing is switched until it is verified,
 * nothing is committed until the new version proves healthy.
 *
 * `applyUpdate` runs the steps that can refuse (selection, lock, busy gate,
 * fetch, verify, install, preflight) before it answers, so a bad release is
 * a 4xx with nothing changed; the switch, restart, gate and verdict then run
 * in the background, still under the lock. The first install is the same
 * staging with a switch and no restart: nothing runs yet.
 */
import { dirname } from 'node:path';
import { semver } from './semver.ts';
import { OutlastError, toOutlastError } from '../errors.ts';
import { readBadVersions } from './bad-versions.ts';
import { waitNotBusy } from './busy.ts';
import { listReleases } from './check.ts';
import type { UpdateContext } from './context.ts';
import type { RunningOperation } from './operation.ts';
import { heldBack, type RolloutVerdict } from './rollout.ts';
import { latestAllowed, selectVersion, type SelectionRequest } from './selection.ts';
import { operationLogPath, stageRelease } from './stage.ts';
import { findRelease, type ReleaseEntry, type UpdateSource } from './sources/source.ts';
import { judgeFirstChild, transition } from './transition.ts';

/** The answer to an apply, and the work it leaves running. */
export type ApplyStarted = UpToDate | { id: string; from: string | null; to: string; rest: Promise<void> };

/** Nothing to install; `rollout` names a newer version that is not yet for this device. */
export type UpToDate = { upToDate: true; version: string; rollout?: RolloutVerdict };

/** Selects, locks and stages a release; the rest runs in `rest`. */
export async function applyUpdate(ctx: UpdateContext, request: SelectionRequest): Promise<ApplyStarted> {
  const { host, stateDir, config, store } = ctx;
  const entries = await listReleases(ctx);
  const bad = await readBadVersions(host, stateDir);
  const held = await heldBack(ctx.device, entries);
  const selection = selectVersion(entries.map((e) => e.version), store.current, request, config, bad, held);
  if (selection.kind === 'up-to-date') {
    const notYet = latestAllowed([...held.keys()], config, new Set(bad.keys()));
    const verdict = notYet === undefined || !semver.gt(notYet, selection.version) ? undefined : held.get(notYet);
    return { upToDate: true, version: selection.version, ...(verdict === undefined ? {} : { rollout: verdict }) };
  }
  const entry = findRelease(entries, selection.version);
  const run = await ctx.ops.begin('apply', store.current ?? null, entry.version);
  try {
    await run.enter('lock');
    if (ctx.busy !== undefined && request.force !== true) {
      await run.enter('busy-wait');
      await waitNotBusy(host, ctx.busy);
    }
    await stage(ctx, run, entry);
  } catch (err) {
    await run.end('failed', toOutlastError(err));
    throw err;
  }
  const { op } = run;
  return { id: op.id, from: op.from, to: op.to, rest: transition(ctx, run, `update to ${op.to}`) };
}

/**
 * The first install, when nothing is installed yet (may download: the API
 * is already up); from `source` when given (the bundled release), else the
 * configured source.
 */
export async function installFirst(ctx: UpdateContext, source: UpdateSource = ctx.source): Promise<void> {
  const { host, config, logger, store, stateDir } = ctx;
  const entries = await listReleases({ source });
  const bad = await readBadVersions(host, stateDir);
  const initial = source === ctx.source ? config.initialVersion : entries[0]?.version;
  // A new device starts on what the rest of the fleet runs: the newest
  // version whose rollout it is in, or, when there is none, the newest.
  const offered = entries.map((e) => e.version);
  const held = initial === undefined ? await heldBack(ctx.device, entries) : new Map();
  const wanted = initial ?? latestAllowed(offered, config, new Set([...bad.keys(), ...held.keys()])) ?? latestAllowed(offered, config, new Set(bad.keys()));
  if (wanted === undefined) throw new OutlastError('VERSION_NOT_FOUND', `the update source offers no release in range "${config.range}" to install`);
  const entry = findRelease(entries, selectVersion([wanted], undefined, { version: wanted, force: true }, config, bad).version);
  logger.info({ version: entry.version }, 'nothing installed yet: installing');
  const run = await ctx.ops.begin('install', null, entry.version);
  try {
    await stage(ctx, run, entry, source);
    await run.enter('switch');
    await store.switchTo(entry.version);
  } catch (err) {
    await run.end('failed', toOutlastError(err));
    throw err;
  }
  await run.end('committed');
}

/**
 * At start, with `updates.bundled`: the bundled release is installed when
 * nothing is; when it is newer than `current` it is staged, switched to, and
 * judged by the gate on the first child, like any update (an older one, or
 * one rolled back before, leaves `current` as it is).
 */
export async function adoptBundled(ctx: UpdateContext, bundled: UpdateSource): Promise<void> {
  const { host, stateDir, store, logger } = ctx;
  const current = store.current;
  if (current === undefined) return installFirst(ctx, bundled);
  const [entry] = await listReleases({ source: bundled });
  if (entry === undefined || !semver.gt(entry.version, current)) {
    logger.info({ bundled: entry?.version, current }, 'the bundled release is not newer than current: current runs');
    return;
  }
  const bad = (await readBadVersions(host, stateDir)).get(entry.version);
  if (bad !== undefined) {
    logger.warn({ bundled: entry.version, current, reason: bad }, `the bundled release ${entry.version} was rolled back before (${bad}): ${current} runs`);
    return;
  }
  logger.info({ bundled: entry.version, current }, 'the bundled release is newer than current: adopting it through the health gate');
  const run = await ctx.ops.begin('apply', current, entry.version);
  try {
    await run.enter('lock');
    await stage(ctx, run, entry, bundled);
    run.op.previousBefore = (await store.previous()) ?? null;
    await run.enter('switch');
    await store.switchTo(entry.version);
  } catch (err) {
    // The old release is still there and still current: it runs.
    logger.error({ err, bundled: entry.version }, 'cannot adopt the bundled release');
    try {
      if (run.op.switched) await store.restore(current, run.op.previousBefore ?? null);
    } finally {
      await run.end('failed', toOutlastError(err));
    }
    return;
  }
  judgeFirstChild(ctx, run);
}

/** Fetch, verify, install hook, preflight, promote: into releases/<version>, or nothing. */
async function stage(ctx: UpdateContext, run: RunningOperation, entry: ReleaseEntry, source: UpdateSource = ctx.source): Promise<void> {
  const { host, stateDir, config, env, store, events } = ctx;
  const logPath = operationLogPath(stateDir, run.op.id);
  await host.fs.mkdir(dirname(logPath), 0o755);
  let lastProgress = 0;
  await stageRelease(
    {
      host,
      paths: store.paths,
      config,
      source,
      env,
      enter: (phase) => run.enter(phase),
      log: (line) => void host.fs.append(logPath, line.endsWith('\n') ? line : `${line}\n`).catch(() => undefined),
      onProgress: (done, total) => {
        // At most one progress event per 5 % (or per MiB when the size is unknown).
        const step = total === undefined ? 1 << 20 : Math.max(1, total / 20);
        if (done - lastProgress < step && done !== total) return;
        lastProgress = done;
        events.emit('update_progress', { id: run.op.id, phase: 'fetch', done, total: total ?? null });
      },
      signal: AbortSignal.timeout(config.installTimeoutMs + 600_000),
    },
    entry,
  );
}
