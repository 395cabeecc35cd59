/**
 * A line of JSON another process printed, read as an object: what the
 * short-lived children (config/validate-main.ts, update/sources/apart-main.ts)
 * answer with.
 */

/** `text` parsed as a JSON object, or undefined when it is not JSON or not an object. */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}
