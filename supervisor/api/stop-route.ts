/**
 * `POST /stop`: a planned stop of the supervisor and its service. The answer
 * (202) goes out before the stop begins; the stop itself then runs the same
 * path as a SIGTERM, marked as planned, and the supervisor exits 0.
 */
import { noExtraKeys, objectBody, optionalString } from './body-checks.ts';
import type { Router } from './router.ts';

/** What `POST /stop` answers, besides `accepted` and `planned`. */
export interface StopAnswer {
  /** The supervisor that is stopping. */
  pid: number;
  /** The service's drain budget: how long the stop may take before SIGKILL. */
  drainMs: number;
  /** A stop was already under way; no new marker was written. */
  alreadyStopping?: boolean;
}

/** The reason recorded when the body gives none. */
export const DEFAULT_STOP_REASON = 'requested through the API';

/** Registers `POST /stop` on `router`. */
export function registerStopRoute(router: Router, stop: (reason: string) => Promise<StopAnswer & { after?: () => void }>): void {
  router.post('/stop', async (request, reply) => {
    const fields = objectBody(request.body);
    noExtraKeys(fields, ['reason']);
    const reason = optionalString(fields, 'reason', { min: 1, max: 200, trim: true }) ?? DEFAULT_STOP_REASON;
    const { after, ...answer } = await stop(reason);
    // 'close', not 'finish': a client that hangs up early still gets the stop it asked for.
    if (after !== undefined) reply.raw.once('close', after);
    reply.status(202);
    return { accepted: true, ...(answer.alreadyStopping === true ? {} : { planned: true, reason }), ...answer };
  });
}
