// The exit status of an adopted child, decoded from a zombie's /proc/<pid>/stat exit_code (a wait(2) status).
import { describe, expect, it } from 'vitest';
import { decodeStatus } from '../../supervisor/service/adopted.ts';

describe('decodeStatus', () => {
  it('reads an exit code from the high byte', () => {
    expect(decodeStatus(7 << 8)).toEqual({ kind: 'exited', code: 7 });
    expect(decodeStatus(0)).toEqual({ kind: 'exited', code: 0 });
  });

  it('reads a killing signal from the low bits, with or without a core dump', () => {
    expect(decodeStatus(9)).toEqual({ kind: 'signaled', signal: 'SIGKILL' });
    expect(decodeStatus(0x80 | 11)).toEqual({ kind: 'signaled', signal: 'SIGSEGV' });
  });

  it('treats an unreadable status as a plain exit', () => {
    expect(decodeStatus(Number.NaN)).toEqual({ kind: 'exited', code: 0 });
  });
});
