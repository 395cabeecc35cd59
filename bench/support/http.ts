/** What the bench asks the service: GET / answers {version, pid}. */
import { request } from 'node:http';
import { waitFor } from '../../test/support/wait.ts';

/** One answer of the service. */
export interface Answer {
  version: string;
  pid: number;
}

/**
 * GET / on a fresh connection (no keep-alive, so each call sees the listener
 * as it is now); undefined when it does not answer 200 within `timeoutMs`.
 */
export function answer(port: number, timeoutMs = 1000): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as Answer) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Resolves with the first answer that `accept` takes, polling every `intervalMs`. */
export function waitAnswer(port: number, accept: (a: Answer) => boolean, what: string, timeoutMs = 30_000, intervalMs = 5): Promise<Answer> {
  return waitFor(async () => {
    const got = await answer(port);
    return got !== undefined && accept(got) ? got : undefined;
  }, what, timeoutMs, intervalMs);
}

/** One probe request: when it was sent and came back (performance.now() ms), and what it got. */
export interface ProbeSample {
  sentAt: number;
  doneAt: number;
  answer: Answer | undefined;
}

/** A running probe; `stop` ends it and returns every sample. */
export interface Probe {
  stop(): Promise<ProbeSample[]>;
}

/**
 * Asks GET / one request at a time, a new one `intervalMs` after the last
 * came back, until stopped: the client's view of an update, independent of
 * the load generator's retry loop.
 */
export function startProbe(port: number, intervalMs = 10): Probe {
  const samples: ProbeSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const sentAt = performance.now();
      const got = await answer(port);
      samples.push({ sentAt, doneAt: performance.now(), answer: got });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
