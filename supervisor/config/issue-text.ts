/**
 * How a validation problem is worded, the same for the config (load.ts,
 * from zod's issues) and a release manifest (update/sources/manifest.ts,
 * checked by hand): the key as a path, what is wrong, and the value found.
 * No validator here, so the update pipeline can word its problems without
 * loading one.
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as a problem quotes it, cut to 60 characters. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The value at `path` in `input`, or undefined. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cursor = input;
  for (const key of path) {
    if (!isObject(cursor) && !Array.isArray(cursor)) return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

/** `versions[0].sha256` for ['versions', 0, 'sha256']; `(root)` for []. */
export function keyName(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(root)';
}

/** One problem's line: `"key" is required` when nothing is there, else `"key" <message> (got <value>)`. */
export function problemLine(path: readonly PropertyKey[], message: string, input: unknown): string {
  const value = valueAt(input, path);
  if (value === undefined && message === 'is required') return `"${keyName(path)}" is required`;
  return `"${keyName(path)}" ${message} (got ${describe(value)})`;
}
