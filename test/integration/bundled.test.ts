/**
 * A new image over an old state volume (`updates.bundled`): the image's app
 * folder is a release. Nothing installed: it is installed. Newer than
 * `current`: it is adopted through the health gate, and rolled back if it
 * fails. Older (an update already went further), or rolled back before:
 * `current` runs. The state dir lives inside the app folder, as a volume
 * mounted there would, and is never copied into a release.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFeed, writeRelease, type Behaviour } from '../support/feed.ts';
import { cleanup, tempDir, type RunningCli } from '../support/supervisor.ts';
import { lockReleased, serviceVersion, startUpdating, store } from '../support/update-supervisor.ts';
import { waitFor } from '../support/wait.ts';

afterEach(cleanup);

/** Replaces the "image": everything in the app folder but the state volume. */
function image(app: string, version: string, behaviour?: Behaviour): void {
  for (const name of readdirSync(app)) if (name !== '.outlast') rmSync(join(app, name), { recursive: true, force: true });
  writeRelease(app, version, behaviour);
}

async function stop(cli: RunningCli): Promise<void> {
  cli.proc.kill('SIGTERM');
  await cli.exited;
}

function lastOperation(stateDir: string): Record<string, unknown> | undefined {
  return (JSON.parse(readFileSync(join(stateDir, 'journal.json'), 'utf8')) as { operations: Array<Record<string, unknown>> }).operations.at(-1);
}

describe('updates.bundled: a new image over an old current', () => {
  it('installs, adopts a newer image through the gate, keeps a newer current, and rolls back a broken image', async () => {
    const feed = await makeFeed([{ version: '0.1.0' }]);
    const app = tempDir('outlast-image-');
    const stateDir = join(app, '.outlast');
    const start = (): ReturnType<typeof startUpdating> => startUpdating({ type: 'dir', path: feed }, { stateDir, updates: { bundled: app } });

    // The first image: nothing installed yet, so the bundled release is.
    image(app, '1.0.0');
    let run = await start();
    expect(await serviceVersion(run.port)).toBe('1.0.0');
    expect(readdirSync(join(stateDir, 'releases', '1.0.0'))).not.toContain('.outlast');
    await stop(run.cli);

    // A newer image: adopted through the gate, the old release kept as previous.
    image(app, '1.1.0');
    run = await start();
    await waitFor(() => lastOperation(stateDir)?.state === 'committed' && lastOperation(stateDir)?.to === '1.1.0', '1.1.0 committed');
    await lockReleased(stateDir);
    expect(await serviceVersion(run.port)).toBe('1.1.0');
    expect(store(stateDir)).toMatchObject({ current: 'releases/1.1.0', previous: 'releases/1.0.0' });
    expect(run.cli.proc.exitCode).toBeNull();
    await stop(run.cli);

    // An older image than current (an update went further): current runs, nothing is journaled.
    const before = lastOperation(stateDir);
    image(app, '1.0.5');
    run = await start();
    expect(await serviceVersion(run.port)).toBe('1.1.0');
    expect(lastOperation(stateDir)).toEqual(before);
    await stop(run.cli);

    // A broken newer image: its first child fails the gate, and 1.1.0 comes back.
    image(app, '1.2.0', { mode: 'crash' });
    run = await start();
    await waitFor(() => lastOperation(stateDir)?.state === 'rolled-back', '1.2.0 rolled back');
    expect(lastOperation(stateDir)).toMatchObject({ from: '1.1.0', to: '1.2.0', error: { code: 'HEALTH_GATE_FAILED' } });
    expect(await serviceVersion(run.port)).toBe('1.1.0');
    expect(store(stateDir).current).toBe('releases/1.1.0');
    await stop(run.cli);

    // The same broken image again: not retried, and it says why.
    run = await start();
    expect(await serviceVersion(run.port)).toBe('1.1.0');
    expect(run.cli.stderr()).toContain('the bundled release 1.2.0 was rolled back before');
    await stop(run.cli);
  });
});
