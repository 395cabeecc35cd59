/**
 * A crash loop keeps nothing per restart: the composed service (child.json
 * tracking included) over the fake Host, with a disk slower than the loop.
 * Each check counts what is left waiting, never time or memory.
 */
import { describe, expect, it } from 'vitest';
import { createService } from '../../supervisor/compose.ts';
import { parseConfig } from '../../supervisor/config/load.ts';
import { EventBus } from '../../supervisor/events.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';
import { createFakeHost, flush, type FakeHost } from '../support/fake-host.ts';

const RESTARTS = 1000;
const STATE_DIR = '/state';
const RECORD = `${STATE_DIR}/child.json`;

/** Holds every child.json write and rm at a gate until `open()`, and counts them. */
function gateChildRecord(host: FakeHost): { started: () => number; open: () => void } {
  let started = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const writeFileAtomic = host.fs.writeFileAtomic.bind(host.fs);
  const rm = host.fs.rm.bind(host.fs);
  host.fs.writeFileAtomic = async (path, data, mode) => {
    if (path === RECORD) {
      started += 1;
      await gate;
    }
    return writeFileAtomic(path, data, mode);
  };
  host.fs.rm = async (path) => {
    if (path === RECORD) {
      started += 1;
      await gate;
    }
    return rm(path);
  };
  return { started: () => started, open };
}

describe('a crash loop', () => {
  it(`leaves at most one child.json update waiting, however many of ${RESTARTS} restarts happen while the disk is busy`, async () => {
    const host = createFakeHost();
    const config = parseConfig(
      {
        stateDir: STATE_DIR,
        service: { command: ['app'], restart: { backoff: { initialMs: 0, maxMs: 0, jitter: 0 }, maxCrashes: 1_000_000 } },
      },
      '/srv',
      'test',
    );
    const io = { logger: createLogger({ level: 'silent', sink: memorySink(), pid: host.pid }), stdout: memorySink(), stderr: memorySink() };
    const disk = gateChildRecord(host);
    const service = createService(host, config, io, { events: new EventBus(() => host.clock.now()), notifySocket: undefined, listeners: undefined, placement: {} });
    service.start();
    for (let i = 0; i < RESTARTS; i++) {
      host.children.at(-1)!.exit({ kind: 'exited', code: 1 });
      await host.advance(0);
    }
    expect(service.status()).toMatchObject({ state: 'ready', restarts: RESTARTS });
    // Only the first write got going; it is still held at the gate.
    expect(disk.started()).toBe(1);

    disk.open();
    await flush();
    // The held write, then one for the newest state: not one per event.
    expect(disk.started()).toBeLessThanOrEqual(2);
    const current = host.children.at(-1)!.pid;
    expect(JSON.parse(host.files.get(RECORD)!.data)).toMatchObject({ pid: current, supervisorPid: host.pid });
  });
});
