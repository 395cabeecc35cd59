/**
 * Keeps the supervisor's young generation at its starting size. V8 grows
 * the young generation (up to 64 MB per semi-space on a large machine)
 * whenever enough objects have survived scavenges since it last grew, and
 * shrinks it only while allocation stays under about 1 MB/s. A crash loop
 * allocates faster than that for as long as it lasts (each spawn, exit and
 * log line), so without a cap the supervisor's RSS climbs by tens of MB
 * that are garbage, not data. A supervisor gains nothing from a large
 * nursery: it allocates little per event, and a scavenge of a small one is
 * short.
 */
import { setFlagsFromString } from 'node:v8';

/** V8 flags by which a user sizes the young generation: theirs win. */
const USER_SIZING = /--(?:(?:max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/;

/**
 * Stops the young generation from growing, unless the user sized it
 * (`node --max-semi-space-size=N`, or the same in NODE_OPTIONS). Returns
 * whether it did. `--max-semi-space-size` has no effect once V8 is up, but
 * the growth factor is read at every resize: at 1, a resize keeps the size.
 */
export function capYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  if ([...execArgv, nodeOptions ?? ''].some((arg) => USER_SIZING.test(arg))) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
