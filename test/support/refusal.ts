/**
 * The OutlastError a synchronous call throws, for tests of pure refusals.
 */
import { expect } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';

/** Runs `fn`, which must throw an OutlastError, and returns it; fails the test when it returns or throws anything else. */
export function refusal(fn: () => unknown): OutlastError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OutlastError);
    return err as OutlastError;
  }
  throw new Error('expected a refusal');
}
