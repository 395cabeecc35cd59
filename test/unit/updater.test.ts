/**
 * The Updater, recovery and the SelfRestarter against the fake Host: a
 * scripted source, children the test ends, virtual time, an in-memory state
 * dir. What is checked is the ownership: one lock for updates and the
 * supervisor's own restarts, handed over across a self-restart and taken
 * over by the next image; one operation bookkeeping; the crash policy held
 * while an update owns the child.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../supervisor/config/load.ts';
import { EventBus } from '../../supervisor/events.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { SelfRestarter } from '../../supervisor/restart/self-restart.ts';
import { Service } from '../../supervisor/service/service.ts';
import type { Operation } from '../../supervisor/update/journal.ts';
import { UpdateLock, type HeldLock } from '../../supervisor/update/lock.ts';
import type { UpdateSource } from '../../supervisor/update/sources/source.ts';
import { Updater } from '../../supervisor/update/updater.ts';
import { createFakeHost, flush, politeChildren, type FakeHost } from '../support/fake-host.ts';

const STATE = '/state';

/** A source that offers `versions` and writes a VERSION file into the staging dir. */
function source(host: FakeHost, versions: string[]): UpdateSource {
  return {
    kind: 'dir',
    list: () => Promise.resolve(versions.map((version) => ({ version }))),
    fetch: async (entry, dest) => host.fs.writeFileAtomic(`${dest}/VERSION`, entry.version),
  };
}

interface Setup {
  host: FakeHost;
  service: Service;
  updater: Updater;
  lock: UpdateLock;
  selfRestarts: Array<{ reason: string; lock: HeldLock }>;
}

function setup(options: { host?: FakeHost; versions?: string[]; selfUpdate?: boolean; events?: EventBus } = {}): Setup {
  const host = options.host ?? politeChildren(createFakeHost());
  const config = parseConfig(
    {
      stateDir: STATE,
      service: { command: ['app'] },
      updates: { source: { type: 'dir', path: '/feed' }, initialVersion: '1.0.0', range: '*', healthGate: { timeoutMs: 1000, stableForMs: 500 } },
    },
    '/srv',
    'test',
  );
  const logger = createLogger({ level: 'silent', sink: memorySink(), pid: host.pid });
  const lock = new UpdateLock(host, STATE, () => undefined);
  // The Service asks the Updater where each child starts; the Updater restarts the Service.
  const placement: { updater?: Updater } = {};
  const service = new Service({ host, config: config.service, logger, stdout: memorySink(), stderr: memorySink(), spawnContext: () => placement.updater?.spawnContext() ?? {} });
  const selfRestarts: Setup['selfRestarts'] = [];
  const updater = new Updater({
    host,
    stateDir: STATE,
    config: config.updates!,
    busy: undefined,
    source: source(host, options.versions ?? ['1.0.0', '1.1.0']),
    service,
    logger,
    events: options.events ?? new EventBus(() => host.clock.now()),
    lock,
    env: {},
    // A self-restart never returns here: the process image would be replaced.
    selfRestart: options.selfUpdate === true ? (reason, held) => (selfRestarts.push({ reason, lock: held }), new Promise<void>(() => undefined)) : undefined,
  });
  placement.updater = updater;
  return { host, service, updater, lock, selfRestarts };
}

async function started(s: Setup): Promise<void> {
  await s.updater.recover();
  await s.updater.prepareRelease();
  s.service.start();
  await flush();
}

function journal(host: FakeHost): Operation[] {
  return (JSON.parse(host.files.get(`${STATE}/journal.json`)!.data) as { operations: Operation[] }).operations;
}

const lockHeld = (host: FakeHost): boolean => host.files.has(`${STATE}/update.lock`);

describe('Updater', () => {
  it('applies under the lock: one restart into the new release, gate, commit, lock free', async () => {
    const s = setup();
    await started(s);
    const { host, service, updater } = s;
    expect(updater.currentVersion).toBe('1.0.0');
    const answer = await updater.apply({ version: '1.1.0' });
    expect(answer).toMatchObject({ from: '1.0.0', to: '1.1.0' });
    // Another apply while this one holds the lock learns who holds it.
    await expect(updater.apply({ version: '1.1.0', force: true })).rejects.toMatchObject({ code: 'UPDATE_IN_PROGRESS', details: { holder: { id: (answer as { id: string }).id, to: '1.1.0' } } });
    await host.advance(500);
    expect(journal(host).at(-1)).toMatchObject({ state: 'committed', phase: 'done', from: '1.0.0', to: '1.1.0' });
    expect(host.links.get(`${STATE}/current`)).toBe('releases/1.1.0');
    expect(host.children.at(-1)!.options.cwd).toBe(`${STATE}/current`);
    expect(service.status()).toMatchObject({ state: 'ready', restarts: 1 });
    expect(lockHeld(host)).toBe(false);
  });

  it('holds the crash policy while the new version is judged: it runs once, and rolled-back comes once the old one is ready', async () => {
    const s = setup();
    await started(s);
    const { host, service, updater } = s;
    await updater.apply({ version: '1.1.0' });
    await flush();
    expect(host.children).toHaveLength(2);
    // A slow disk from here on: the rollback's journal writes take 100 ms, so
    // a respawn by the crash policy (at once, for a first crash) would come first.
    const write = host.fs.writeFileAtomic.bind(host.fs);
    host.fs.writeFileAtomic = async (path, data, mode) => {
      await host.clock.sleep(100);
      return write(path, data, mode);
    };
    host.children[1]!.exit({ kind: 'exited', code: 1 });
    await host.advance(0);
    expect(service.status()).toMatchObject({ state: 'errored', reason: expect.stringContaining('during an update') as string });
    await host.advance(1000);
    // No respawn of 1.1.0 by the policy: the only new child is the rollback's 1.0.0.
    expect(host.children).toHaveLength(3);
    expect(host.children[2]!.options.env.OUTLAST_VERSION).toBe('1.0.0');
    const op = journal(host).at(-1)!;
    expect(op).toMatchObject({ state: 'rolled-back', error: { code: 'HEALTH_GATE_FAILED' } });
    expect(host.links.get(`${STATE}/current`)).toBe('releases/1.0.0');
    expect(JSON.parse(host.files.get(`${STATE}/bad-versions.json`)!.data)).toHaveProperty('1.1.0');
    expect(service.status()).toMatchObject({ state: 'ready', restarts: 2 });
    expect(lockHeld(host)).toBe(false);
  });

  it('a rollback by request goes back to previous and marks the version it left bad', async () => {
    const s = setup();
    await started(s);
    await s.updater.apply({ version: '1.1.0' });
    await s.host.advance(500);
    const back = await s.updater.rollback();
    expect(back).toMatchObject({ from: '1.1.0', to: '1.0.0' });
    await s.host.advance(500);
    expect(journal(s.host).at(-1)).toMatchObject({ kind: 'rollback', state: 'rolled-back' });
    expect(JSON.parse(s.host.files.get(`${STATE}/bad-versions.json`)!.data)).toEqual({ '1.1.0': 'rolled back by request' });
    const check = await s.updater.check(true);
    expect(check).toMatchObject({ current: '1.0.0', available: false, markedBad: { version: '1.1.0', reason: 'rolled back by request' } });
  });

  it('hands the lock over across a self-restart, and the next image takes it over and judges its first child', async () => {
    const first = setup({ selfUpdate: true });
    await started(first);
    const { host } = first;
    const answer = (await first.updater.apply({ version: '1.1.0' })) as { id: string };
    await flush();
    // The old image restarted itself with the lock still held and the operation journaled for the next one.
    expect(first.selfRestarts).toHaveLength(1);
    expect(first.selfRestarts[0]!.lock.holder.id).toBe(answer.id);
    expect(journal(host).at(-1)).toMatchObject({ id: answer.id, phase: 'restart', selfRestart: true, state: 'restarting' });
    expect(lockHeld(host)).toBe(true);

    // The next image (same pid, as after an in-place re-exec) on the same state dir.
    const next = setup({ host, selfUpdate: true });
    await next.updater.recover();
    expect(next.lock.holder).toMatchObject({ id: answer.id, to: '1.1.0', pid: host.pid });
    await expect(next.updater.apply({ version: '1.0.0', force: true })).rejects.toMatchObject({ code: 'UPDATE_IN_PROGRESS' });
    next.service.start();
    await host.advance(500);
    expect(journal(host).at(-1)).toMatchObject({ id: answer.id, state: 'committed' });
    expect(next.lock.holder).toBeUndefined();
    expect(lockHeld(host)).toBe(false);
  });

  it('recovery settles an operation whose holder died, frees its lock, and announces its end', async () => {
    const s = setup();
    await started(s);
    const { host } = s;
    host.files.set(`${STATE}/update.lock`, { data: '', mode: 0o755 });
    host.files.set(`${STATE}/update-holder.json`, { data: JSON.stringify({ pid: 999, id: 'udead', since: 'x', to: '1.1.0' }), mode: 0o644 });
    const dead: Operation = { id: 'udead', kind: 'apply', from: '1.0.0', to: '1.1.0', state: 'applying', phase: 'fetch', phases: [], startedAt: 'x', switched: false };
    host.files.set(`${STATE}/journal.json`, { data: JSON.stringify({ operations: [...journal(host), dead] }), mode: 0o644 });
    const events = new EventBus(() => host.clock.now());
    const ended: unknown[] = [];
    events.subscribe((event) => event.type === 'update' && ended.push(event.data));
    const after = setup({ host, events });
    await after.updater.recover();
    expect(journal(host).at(-1)).toMatchObject({ id: 'udead', state: 'failed', error: { code: 'INTERRUPTED' } });
    // Said on the bus as an end, so it is counted and reported like any other.
    expect(ended).toEqual([{ id: 'udead', state: 'failed', phase: 'done', from: '1.0.0', to: '1.1.0', error: expect.objectContaining({ code: 'INTERRUPTED' }) as unknown }]);
    expect(lockHeld(host)).toBe(false);
    expect(host.files.has(`${STATE}/update-holder.json`)).toBe(false);
  });
});

describe('SelfRestarter and the update lock', () => {
  it('takes the same lock as updates for its restart, and lets go of it before the process ends', async () => {
    const s = setup();
    await started(s);
    const { host, lock, updater } = s;
    let release!: () => void;
    const quiesced = new Promise<void>((r) => (release = r));
    const restarter = new SelfRestarter({
      host,
      logger: createLogger({ level: 'silent', sink: memorySink(), pid: host.pid }),
      stateDir: STATE,
      lock,
      platform: host.platform,
      unitProperties: () => Promise.resolve(undefined),
      requested: 'manager',
      force: true,
      delayMs: undefined,
      retries: 0,
      quiesce: () => quiesced,
    });
    const restarting = restarter.restart('test');
    await flush();
    expect(lock.holder).toMatchObject({ to: 'supervisor' });
    await expect(updater.apply({ version: '1.1.0' })).rejects.toMatchObject({ code: 'UPDATE_IN_PROGRESS', details: { holder: { to: 'supervisor' } } });
    release();
    await expect(restarting).resolves.toMatchObject({ exitCode: 75, strategy: 'manager' });
    expect(lock.holder).toBeUndefined();
    expect(lockHeld(host)).toBe(false);
  });

  it('keeps a self-update lock held across the restart: it is the caller’s', async () => {
    const s = setup();
    await started(s);
    const held = await s.lock.acquire('uown', '1.1.0');
    const restarter = new SelfRestarter({
      host: s.host,
      logger: createLogger({ level: 'silent', sink: memorySink(), pid: s.host.pid }),
      stateDir: STATE,
      lock: s.lock,
      platform: s.host.platform,
      unitProperties: () => Promise.resolve(undefined),
      requested: 'manager',
      force: true,
      delayMs: undefined,
      retries: 0,
      quiesce: () => Promise.resolve(),
    });
    await expect(restarter.restart('update to 1.1.0', { lock: held })).resolves.toMatchObject({ exitCode: 75 });
    expect(s.lock.holder).toMatchObject({ id: 'uown' });
    expect(lockHeld(s.host)).toBe(true);
    await held.release();
    expect(lockHeld(s.host)).toBe(false);
  });
});
