import { describe, expect, it } from 'vitest';
import { bearerMatches, isLoopback } from '../../supervisor/api/auth.ts';
import { ERROR_CODES, OutlastError, toOutlastError } from '../../supervisor/errors.ts';

describe('OutlastError', () => {
  it('derives the HTTP status and exit code from the code', () => {
    const err = new OutlastError('UNAUTHORIZED', 'no');
    expect([err.httpStatus, err.exitCode]).toEqual([401, 77]);
    expect(new OutlastError('CONFIG_INVALID', 'x').exitCode).toBe(78);
    expect(new OutlastError('COMMAND_NOT_FOUND', 'x').exitCode).toBe(127);
  });

  it('serialises to the wire shape, with details when present', () => {
    expect(new OutlastError('CONFLICT', 'busy', { details: { pid: 1 } }).toJSON()).toEqual({
      error: { code: 'CONFLICT', message: 'busy', details: { pid: 1 } },
    });
  });

  it('wraps foreign errors, keeping the cause', () => {
    const cause = new Error('boom');
    const err = toOutlastError(cause);
    expect([err.code, err.message, err.cause]).toEqual(['INTERNAL', 'boom', cause]);
  });

  it('keeps exit 75 for the restart request alone, and gives a duplicate start its own code', () => {
    expect(Object.entries(ERROR_CODES).filter(([, { exit }]) => (exit as number) === 75)).toEqual([]);
    expect([new OutlastError('ALREADY_RUNNING', 'x').exitCode, new OutlastError('ALREADY_RUNNING', 'x').httpStatus]).toEqual([80, 409]);
    expect(['CONFLICT', 'UPDATE_IN_PROGRESS', 'RESTART_BLOCKED', 'TIMEOUT'].map((c) => ERROR_CODES[c as keyof typeof ERROR_CODES].exit)).toEqual([76, 76, 76, 79]);
  });

  it('maps every code to a 4xx/5xx status and a non-zero exit', () => {
    for (const { http, exit } of Object.values(ERROR_CODES)) {
      expect(http).toBeGreaterThanOrEqual(400);
      expect(exit).toBeGreaterThan(0);
    }
  });
});

describe('auth', () => {
  it('accepts only the exact bearer token', () => {
    expect(bearerMatches('Bearer abc123', 'abc123')).toBe(true);
    expect(bearerMatches('bearer abc123', 'abc123')).toBe(true);
    expect(bearerMatches('Bearer abc1234', 'abc123')).toBe(false);
    expect(bearerMatches('Basic abc123', 'abc123')).toBe(false);
    expect(bearerMatches(undefined, 'abc123')).toBe(false);
    expect(bearerMatches('Bearer ', 'abc123')).toBe(false);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '192.168.1.2', '::'].some(isLoopback)).toBe(false);
  });
});
