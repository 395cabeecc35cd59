// The log file of a bare supervisor, over the fake Host's file system: the
// rotation plan, size-bounded files cut at line ends, exactly `keep` old
// files, a failed write reported once and retried at the next rotation, and
// the selection of the last N lines across the rotation boundary.
import { describe, expect, it } from 'vitest';
import { createLogFile, MAX_QUEUED_BYTES, type LogFileFs, type LogFileProblem } from '../../supervisor/log/log-file.ts';
import { keepsOwnLogFile } from '../../supervisor/log/log-place.ts';
import { lastLines, readLastLines, splitLines } from '../../supervisor/log/log-tail.ts';
import { rotatedIndex, rotationPlan } from '../../supervisor/log/rotation.ts';
import { createFakeHost, type FakeHost } from '../support/fake-host.ts';

const PATH = '/st/logs/outlast.log';

function logNames(host: FakeHost): string[] {
  return [...host.files.keys()]
    .filter((p) => p.startsWith('/st/logs/'))
    .map((p) => p.slice('/st/logs/'.length))
    .sort();
}

function text(host: FakeHost, name: string): string {
  return host.files.get(`/st/logs/${name}`)?.data ?? '';
}

function numbered(from: number, to: number): string {
  let out = '';
  for (let i = from; i <= to; i++) out += `line ${String(i).padStart(4, '0')}\n`;
  return out;
}

describe('rotationPlan', () => {
  it('shifts .1 to .2 oldest first, drops what is beyond keep, and moves the file to .1', () => {
    expect(rotationPlan('outlast.log', ['outlast.log', 'outlast.log.1', 'outlast.log.2', 'outlast.log.3', 'source.json'], 3)).toEqual([
      { op: 'rm', name: 'outlast.log.3' },
      { op: 'rename', from: 'outlast.log.2', to: 'outlast.log.3' },
      { op: 'rename', from: 'outlast.log.1', to: 'outlast.log.2' },
      { op: 'rename', from: 'outlast.log', to: 'outlast.log.1' },
    ]);
  });

  it('removes files a larger keep of an earlier run left, and with keep 0 the file itself', () => {
    expect(rotationPlan('outlast.log', ['outlast.log', 'outlast.log.1', 'outlast.log.5'], 1)).toEqual([
      { op: 'rm', name: 'outlast.log.1' },
      { op: 'rm', name: 'outlast.log.5' },
      { op: 'rename', from: 'outlast.log', to: 'outlast.log.1' },
    ]);
    expect(rotationPlan('outlast.log', ['outlast.log', 'outlast.log.1'], 0)).toEqual([
      { op: 'rm', name: 'outlast.log.1' },
      { op: 'rm', name: 'outlast.log' },
    ]);
  });

  it('leaves names that only look like rotated files alone', () => {
    expect(['outlast.log.0', 'outlast.log.01', 'outlast.log.1.tmp', 'outlast.log.x', 'outlast.logs.1'].map((n) => rotatedIndex('outlast.log', n))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(rotationPlan('outlast.log', ['outlast.log.0', 'update-a1.log'], 3)).toEqual([]);
  });
});

describe('lastLines and splitLines', () => {
  it('takes the newest file first and fills up from the older ones, oldest line first', () => {
    expect(lastLines([['c\n', 'd\n'], ['a\n', 'b\n'], ['z\n']], 3)).toEqual(['b\n', 'c\n', 'd\n']);
    expect(lastLines([['c\n', 'd\n'], ['a\n', 'b\n']], 1)).toEqual(['d\n']);
    expect(lastLines([['c\n'], ['a\n', 'b\n']], 10)).toEqual(['a\n', 'b\n', 'c\n']);
    expect(lastLines([['c\n']], 0)).toEqual([]);
  });

  it('keeps an unfinished last line apart, or ends it when the file is finished', () => {
    const bytes = Buffer.from('één\ntwee\ndr');
    expect(splitLines(bytes, false)).toEqual({ lines: ['één\n', 'twee\n'], end: Buffer.byteLength('één\ntwee\n') });
    expect(splitLines(bytes, true)).toEqual({ lines: ['één\n', 'twee\n', 'dr\n'], end: bytes.length });
    expect(splitLines(Buffer.from('no newline yet'), false)).toEqual({ lines: [], end: 0 });
  });
});

describe('keepsOwnLogFile', () => {
  it('is off under a systemd unit and under runsv on Termux, on everywhere else', () => {
    expect(keepsOwnLogFile({ kind: 'systemd', systemd: { scope: 'system', unit: 'app.service' } }, 'systemd')).toBe(false);
    expect(keepsOwnLogFile({ kind: 'container', systemd: { scope: 'system', unit: 'app.service' } }, 'systemd')).toBe(false);
    expect(keepsOwnLogFile({ kind: 'termux' }, 'runsv')).toBe(false);
    expect(keepsOwnLogFile({ kind: 'termux' }, 'bash')).toBe(true);
    expect(keepsOwnLogFile({ kind: 'bare' }, 'runsv')).toBe(true);
    expect(keepsOwnLogFile({ kind: 'systemd', systemd: { scope: 'user', unit: null } }, 'bash')).toBe(true);
    expect(keepsOwnLogFile({ kind: 'container' }, undefined)).toBe(true);
  });
});

describe('createLogFile', () => {
  it('writes what came before open, then rotates before a file passes maxBytes, keeping exactly keep old files', async () => {
    const host = createFakeHost();
    const file = createLogFile(host.fs, () => undefined);
    file.write('early\n');
    file.open({ path: PATH, maxBytes: 1024, keep: 2 });
    // One chunk of many lines, as a pipe read gives them: cut at line ends.
    file.write(numbered(1, 400));
    await file.flush();
    expect(logNames(host)).toEqual(['outlast.log', 'outlast.log.1', 'outlast.log.2']);
    for (const name of logNames(host)) {
      expect(Buffer.byteLength(text(host, name))).toBeLessThanOrEqual(1024);
      expect(text(host, name).endsWith('\n')).toBe(true);
      expect(host.files.get(`/st/logs/${name}`)?.mode).toBe(0o600);
    }
    // Filled up to the last whole line (10 bytes each) that fits.
    expect(Buffer.byteLength(text(host, 'outlast.log.1'))).toBeGreaterThan(1024 - 10);
    // Nothing is split or repeated across the kept files; the oldest ones are gone.
    const kept = text(host, 'outlast.log.2') + text(host, 'outlast.log.1') + text(host, 'outlast.log');
    expect(kept.endsWith(numbered(1, 400).slice(-kept.length))).toBe(true);
    expect(kept).not.toContain('early');
  });

  it('reads the last N lines across the rotation boundary', async () => {
    const host = createFakeHost();
    const file = createLogFile(host.fs, () => undefined);
    file.open({ path: PATH, maxBytes: 1024, keep: 3 });
    file.write(numbered(1, 110));
    await file.flush();
    const current = text(host, 'outlast.log').split('\n').length - 1;
    expect(current).toBeGreaterThan(0);
    expect(current).toBeLessThan(20);
    const { lines, position, found } = await readLastLines(host.fs, PATH, current + 5);
    expect(found).toBe(true);
    expect(lines.join('')).toBe(numbered(110 - current - 4, 110));
    expect(position?.offset).toBe(Buffer.byteLength(text(host, 'outlast.log')));
    expect((await readLastLines(host.fs, PATH, 2)).lines).toEqual(['line 0109\n', 'line 0110\n']);
  });

  it('gives a line longer than maxBytes a file of its own', async () => {
    const host = createFakeHost();
    const file = createLogFile(host.fs, () => undefined);
    file.open({ path: PATH, maxBytes: 1024, keep: 3 });
    const long = `${'x'.repeat(2000)}\n`;
    file.write(`short\n${long}after\n`);
    await file.flush();
    expect([text(host, 'outlast.log.2'), text(host, 'outlast.log.1'), text(host, 'outlast.log')]).toEqual(['short\n', long, 'after\n']);
  });

  it('reports a failed write once, drops lines until a rotation is due, then writes a fresh file', async () => {
    const host = createFakeHost();
    let full = true;
    const fs: LogFileFs = {
      ...host.fs,
      append: (path, data) => (full ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) : host.fs.append(path, data)),
    };
    const problems: LogFileProblem[] = [];
    const file = createLogFile(fs, (p) => problems.push(p));
    file.open({ path: PATH, maxBytes: 1024, keep: 1 });
    file.write('lost 1\n');
    await file.flush();
    file.write('lost 2\n');
    await file.flush();
    expect(problems.map((p) => p.kind)).toEqual(['write-failed']);
    expect(file.broken).toBe(true);
    // A maxBytes of output later the rotation is due and the file is tried
    // again; it still fails, which is not reported twice.
    file.write(numbered(1, 110));
    await file.flush();
    file.write('lost 3\n');
    await file.flush();
    expect(problems.map((p) => p.kind)).toEqual(['write-failed']);
    full = false;
    file.write('dropped too\n');
    await file.flush();
    expect(logNames(host)).toEqual([]);
    file.write(numbered(1, 110));
    await file.flush();
    file.write('back\n');
    await file.flush();
    expect(text(host, 'outlast.log')).toBe('back\n');
    expect(problems.map((p) => p.kind)).toEqual(['write-failed', 'writing-again']);
    expect(file.broken).toBe(false);
  });

  it('drops a burst past the queue limit from the file and says how much', async () => {
    const host = createFakeHost();
    const problems: LogFileProblem[] = [];
    const file = createLogFile(host.fs, (p) => problems.push(p));
    const line = `${'y'.repeat(1023)}\n`;
    for (let i = 0; i < MAX_QUEUED_BYTES / 1024 + 10; i++) file.write(line);
    file.open({ path: PATH, maxBytes: 4 * MAX_QUEUED_BYTES, keep: 1 });
    await file.flush();
    expect(Buffer.byteLength(text(host, 'outlast.log'))).toBe(MAX_QUEUED_BYTES);
    expect(problems).toEqual([{ kind: 'fell-behind', path: PATH, droppedBytes: 10 * 1024 }]);
  });

  it('writes nothing when the run has no file, and nothing after close', async () => {
    const host = createFakeHost();
    const none = createLogFile(host.fs, () => undefined);
    none.write('queued\n');
    none.discard();
    none.write('later\n');
    await none.close();
    const refused = createLogFile(host.fs, () => undefined);
    refused.write('before a refused start\n');
    await refused.close();
    expect(logNames(host)).toEqual([]);
    const closed = createLogFile(host.fs, () => undefined);
    closed.open({ path: PATH, maxBytes: 1024, keep: 1 });
    closed.write('bye\n');
    await closed.close();
    closed.write('after\n');
    await closed.flush();
    expect(text(host, 'outlast.log')).toBe('bye\n');
  });
});
