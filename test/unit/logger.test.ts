/**
 * The supervisor's own logger: pino's line format (what log readers and
 * `outlast logs` key on), the level filter, errors with their code and
 * cause, and values that would make JSON.stringify throw.
 */
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { createLogger } from '../../supervisor/log/logger.ts';
import { prettyLine } from '../../supervisor/log/pretty.ts';
import { memorySink } from '../../supervisor/log/safe-sink.ts';

const AT = Date.parse('2026-12-03T10:20:30.456Z');

function lines(text: string): Array<Record<string, unknown>> {
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('writes one JSON object per line: level number, ISO time, pid, base fields, the call fields, msg', () => {
    const sink = memorySink();
    const logger = createLogger({ level: 'info', sink, pid: 42, base: { name: 'app' }, now: () => AT });
    logger.info({ apiUrl: 'http://127.0.0.1:7070' }, 'outlast supervisor started');
    logger.warn('no fields');
    expect(sink.text().split('\n')[0]).toBe('{"level":30,"time":"2026-12-03T10:20:30.456Z","pid":42,"name":"app","apiUrl":"http://127.0.0.1:7070","msg":"outlast supervisor started"}');
    expect(lines(sink.text())[1]).toEqual({ level: 40, time: '2026-12-03T10:20:30.456Z', pid: 42, name: 'app', msg: 'no fields' });
  });

  it('drops what is below its level, and everything when silent', () => {
    const sink = memorySink();
    const logger = createLogger({ level: 'warn', sink, pid: 1 });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(lines(sink.text()).map((l) => l.level)).toEqual([40, 50, 60]);
    expect(logger.level).toBe('warn');
    const quiet = memorySink();
    const silent = createLogger({ level: 'silent', sink: quiet, pid: 1 });
    silent.fatal('f');
    expect(quiet.text()).toBe('');
    const all = memorySink();
    createLogger({ level: 'trace', sink: all, pid: 1 }).trace('t');
    expect(lines(all.text())[0]).toMatchObject({ level: 10, msg: 't' });
  });

  it('writes an error with its type, message, stack, code, details and cause', () => {
    const sink = memorySink();
    const cause = new Error('ENOSPC: no space left');
    const err = new OutlastError('NO_SPACE', 'the release does not fit', { cause, details: { path: '/state' } });
    createLogger({ level: 'info', sink, pid: 1 }).error({ err }, 'apply failed');
    const [line] = lines(sink.text());
    expect(line).toMatchObject({ level: 50, msg: 'apply failed', err: { type: 'OutlastError', message: 'the release does not fit', code: 'NO_SPACE', details: { path: '/state' }, cause: { type: 'Error', message: 'ENOSPC: no space left' } } });
    expect((line!.err as { stack: string }).stack).toContain('the release does not fit');
  });

  it('never throws: circular fields, BigInt, a throwing getter', () => {
    const sink = memorySink();
    const logger = createLogger({ level: 'info', sink, pid: 1 });
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    logger.info({ loop, big: 12345678901234567890n }, 'odd values');
    expect(lines(sink.text())[0]).toMatchObject({ loop: { name: 'loop', self: '[Circular]' }, big: '12345678901234567890', msg: 'odd values' });
    const hostile = { get boom(): never { throw new Error('getter'); } };
    expect(() => logger.info(hostile, 'hostile')).not.toThrow();
    expect(lines(sink.text())[1]).toEqual({ msg: 'a log line could not be written', problem: 'getter' });
  });

  it('sends JSON to the file and the pretty form to a terminal sink', () => {
    const terminal = memorySink();
    const file = memorySink();
    const logger = createLogger({ level: 'info', sink: terminal, file, pid: 7, pretty: true, base: { name: 'app' }, now: () => AT });
    logger.warn({ restarts: 3 }, 'crash loop');
    expect(lines(file.text())[0]).toMatchObject({ level: 40, pid: 7, name: 'app', restarts: 3, msg: 'crash loop' });
    const shown = terminal.text().replace(/\x1b\[[0-9;]*m/g, '');
    expect(shown).toMatch(/^\d\d:\d\d:\d\d\.456 WARN {2}\(app\): crash loop\n {4}restarts: 3\n$/);
  });
});

describe('prettyLine', () => {
  it('shows an error by its stack, indented', () => {
    const text = prettyLine({ level: 50, time: new Date(AT).toISOString(), msg: 'failed', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at f (a.js:1:1)' } }).replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toContain('ERROR: failed\n    err: Error: x\n            at f (a.js:1:1)\n');
  });
});
