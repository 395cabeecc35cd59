// Loaded into the supervisor under test by bench/soak.ts (`node --expose-gc
// --import <this file> bin/outlast.js run ...`): it answers the bench's
// sample requests with this process's heap figures, so the bench can read
// the heap of another process without an inspector. Requests and answers
// are files in OUTLAST_SOAK_PROBE_DIR; without that variable it does nothing.
// Plain JavaScript with node: built-ins only, so it loads before anything else.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const dir = process.env.OUTLAST_SOAK_PROBE_DIR;
if (dir !== undefined && dir !== '') {
  let answered = 0;
  // Unref'd: the probe must never be what keeps the supervisor alive.
  setInterval(() => {
    let request;
    try {
      request = JSON.parse(readFileSync(join(dir, 'request.json'), 'utf8'));
    } catch {
      return; // none yet, or half written: the next tick reads it again
    }
    if (typeof request.seq !== 'number' || request.seq === answered) return;
    answered = request.seq;
    // A full collection first, so heapUsed counts what is retained, not garbage not yet collected.
    const collected = request.gc === true && typeof globalThis.gc === 'function';
    if (collected) globalThis.gc();
    if (typeof request.snapshot === 'string') writeHeapSnapshot(request.snapshot);
    // Committed size of each V8 space: which one holds memory that heapUsed does not show.
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]));
    const answer = { seq: request.seq, collected, ...process.memoryUsage(), spaces };
    writeFileSync(join(dir, 'answer.json.tmp'), JSON.stringify(answer));
    renameSync(join(dir, 'answer.json.tmp'), join(dir, 'answer.json'));
  }, 50).unref();
}
