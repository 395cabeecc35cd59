/**
 * Version selection as the pure function it is: what the source offers, what
 * runs, what was asked for, and the config's range.
 */
import { describe, expect, it } from 'vitest';
import { latestAllowed, selectVersion, type SelectionPolicy } from '../../supervisor/update/selection.ts';
import { refusal } from '../support/refusal.ts';

const offered = ['0.9.0', '1.0.0', '1.1.0', '1.2.0-beta.1', '2.0.0', '99.0.0'];
const caret1: SelectionPolicy = { range: '^1', prerelease: false };
const none = new Map<string, string>();

describe('selectVersion', () => {
  it('picks the highest version in range when none is named', () => {
    expect(selectVersion(offered, '1.0.0', {}, caret1, none)).toEqual({ kind: 'install', version: '1.1.0' });
    expect(selectVersion(offered, '1.1.0', {}, caret1, none)).toEqual({ kind: 'up-to-date', version: '1.1.0' });
    expect(latestAllowed(offered, { range: '^1', prerelease: true }, new Set())).toBe('1.2.0-beta.1');
  });

  it('refuses a named version outside the range unless forced, naming the version, the range and the flag', () => {
    const err = refusal(() => selectVersion(offered, '1.0.0', { version: '99.0.0' }, caret1, none));
    expect(err.code).toBe('VERSION_OUT_OF_RANGE');
    expect([err.httpStatus, err.exitCode]).toEqual([409, 65]);
    expect(err.message).toBe('version 99.0.0 is outside updates.range "^1"; to install it anyway, apply it with --force (API: "force": true)');
    expect(err.details).toEqual({ version: '99.0.0', range: '^1' });
    expect(refusal(() => selectVersion(offered, '1.0.0', { version: 'v2.0.0' }, caret1, none)).code).toBe('VERSION_OUT_OF_RANGE');
    expect(selectVersion(offered, '1.0.0', { version: '99.0.0', force: true }, caret1, none)).toEqual({ kind: 'install', version: '99.0.0' });
  });

  it('refuses a downgrade outside the range as out of range, and one inside as a downgrade', () => {
    expect(refusal(() => selectVersion(offered, '1.1.0', { version: '0.9.0' }, caret1, none)).code).toBe('VERSION_OUT_OF_RANGE');
    expect(refusal(() => selectVersion(offered, '1.1.0', { version: '1.0.0' }, caret1, none)).code).toBe('DOWNGRADE_REFUSED');
  });

  it('lets a named prerelease in range through: the prerelease flag governs the automatic choice only', () => {
    expect(selectVersion(offered, '1.1.0', { version: '1.2.0-beta.1' }, caret1, none)).toEqual({ kind: 'install', version: '1.2.0-beta.1' });
  });

  it('answers up to date for the running version even when the range has since moved past it', () => {
    expect(selectVersion(offered, '2.0.0', { version: '2.0.0' }, caret1, none)).toEqual({ kind: 'up-to-date', version: '2.0.0' });
  });

  it('allows a version in range, and every version with the default range "*"', () => {
    expect(selectVersion(offered, '1.0.0', { version: '1.1.0' }, caret1, none)).toEqual({ kind: 'install', version: '1.1.0' });
    expect(selectVersion(offered, '1.0.0', { version: '99.0.0' }, { range: '*', prerelease: false }, none)).toEqual({ kind: 'install', version: '99.0.0' });
  });

  it('keeps the existing refusals: unknown, malformed, marked bad', () => {
    expect(refusal(() => selectVersion(offered, '1.0.0', { version: '7.7.7' }, caret1, none)).code).toBe('VERSION_NOT_FOUND');
    expect(refusal(() => selectVersion(offered, '1.0.0', { version: 'one' }, caret1, none)).code).toBe('BAD_REQUEST');
    expect(refusal(() => selectVersion(offered, '1.0.0', { version: '1.1.0' }, caret1, new Map([['1.1.0', 'crashed']]))).code).toBe('VERSION_MARKED_BAD');
  });
});
