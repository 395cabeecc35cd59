/**
 * Checks for the API's small JSON bodies, each failure a BAD_REQUEST that
 * names the field: `bad body: "reason" must be …`.
 */
import { OutlastError } from '../errors.ts';

function bad(message: string): OutlastError {
  return new OutlastError('BAD_REQUEST', `bad body: ${message}`);
}

/** The body's fields: an absent body (or `null`) has none; anything but a JSON object is refused. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad(`expected a JSON object, not ${Array.isArray(body) ? 'an array' : typeof body}`);
  return body as Record<string, unknown>;
}

/** Refuses keys other than `known`: a misspelt option must not be ignored. */
export function noExtraKeys(fields: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(fields).filter((key) => !known.includes(key));
  if (extra.length > 0) throw bad(`unknown key "${extra.join('", "')}"`);
}

/** Field `key` when present: a string of `min` to `max` characters (after trimming, with `trim`). */
export function optionalString(fields: Record<string, unknown>, key: string, limits: { min: number; max: number; trim?: boolean }): string | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(`"${key}" must be a string`);
  const text = limits.trim === true ? value.trim() : value;
  if (text.length < limits.min || text.length > limits.max) throw bad(`"${key}" must be ${limits.min} to ${limits.max} characters long`);
  return text;
}

/** Field `key` when present: true or false. */
export function optionalBoolean(fields: Record<string, unknown>, key: string): boolean | undefined {
  const value = fields[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw bad(`"${key}" must be true or false`);
}
