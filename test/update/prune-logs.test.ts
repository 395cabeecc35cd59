// Update hook logs are kept for the newest operations only.
import { describe, expect, it } from 'vitest';
import { OPERATION_LOGS_KEPT, operationLogPath, pruneOperationLogs } from '../../supervisor/update/stage.ts';
import { createFakeHost } from '../support/fake-host.ts';

describe('pruneOperationLogs', () => {
  it('keeps the newest operations by the time in their ids, whatever their kind, and leaves other files alone', async () => {
    const host = createFakeHost();
    const ids: string[] = [];
    for (let i = 0; i < OPERATION_LOGS_KEPT + 5; i++) {
      // apply (u) and rollback (r) operations, interleaved, each started later than the one before
      const id = `${i % 2 === 0 ? 'u' : 'r'}${(1_767_225_600_000 + i * 1000).toString(36)}abcd`;
      ids.push(id);
      await host.fs.writeFileAtomic(operationLogPath('/s', id), `log ${i}`);
    }
    await host.fs.writeFileAtomic('/s/logs/restart-helper.log', 'keep me');
    expect(await pruneOperationLogs(host.fs, '/s')).toBe(5);
    const left = (await host.fs.readdir('/s/logs')).sort();
    expect(left).toEqual([...ids.slice(5).map((id) => `update-${id}.log`), 'restart-helper.log'].sort());
    expect(await pruneOperationLogs(host.fs, '/s')).toBe(0);
  });

  it('does nothing without a logs dir', async () => {
    expect(await pruneOperationLogs(createFakeHost().fs, '/nowhere')).toBe(0);
  });
});
