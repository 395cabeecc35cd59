/**
 * JSON for log lines: a log call must never throw, whatever it is handed.
 */

/** An Error as a log field: its type, message and stack, its own fields (a `code`), and its cause. */
function errorFields(err: Error, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor.name, message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) out[key] = value;
  if (err.cause !== undefined) out.cause = err.cause instanceof Error && !seen.has(err.cause) ? (seen.add(err.cause), errorFields(err.cause, seen)) : err.cause;
  return out;
}

/**
 * JSON that never throws: an object met again is "[Circular]", a BigInt its
 * digits, an Error its fields. A value that still cannot be written (a
 * throwing getter) gives a line that says so.
 */
export function safeJson(value: object): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      // The value before its toJSON (an OutlastError has one, for API answers).
      const raw = this[key];
      if (raw instanceof Error) {
        if (seen.has(raw)) return '[Circular]';
        seen.add(raw);
        return errorFields(raw, seen);
      }
      if (typeof v === 'bigint') return v.toString();
      if (typeof v !== 'object' || v === null) return v;
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
      return v;
    });
  } catch (err) {
    return unwritable(err);
  }
}

/** The line written instead of one whose values could not be read. */
export function unwritable(err: unknown): string {
  return JSON.stringify({ msg: 'a log line could not be written', problem: err instanceof Error ? err.message : String(err) });
}
