/**
 * The one-call entry: read this machine's snapshot and detect its platform.
 */
import { detectPlatform } from './detect.ts';
import type { Platform } from './platform.ts';
import { readPlatformSnapshot } from './snapshot-reader.ts';

/** Detects the platform of the running process. Never throws. */
export function readPlatform(): Platform {
  return detectPlatform(readPlatformSnapshot());
}
