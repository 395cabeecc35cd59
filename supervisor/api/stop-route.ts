/**
 * `POST /stop`: a planned stop of the supervisor and its service. The answer
 * (202) goes out before the stop begins; the stop itself then runs the same
 * path as a SIGTERM, marked as planned, and the supervisor exits 0.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OutlastError } from '../errors.ts';

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

const stopBody = z.strictObject({ reason: z.string().trim().min(1).max(200).optional() }).default({});

/** Registers `POST /stop` on `app`. */
export function registerStopRoute(app: FastifyInstance, stop: (reason: string) => Promise<StopAnswer & { after?: () => void }>): void {
  app.post('/stop', async (request, reply) => {
    const parsed = stopBody.safeParse(request.body ?? undefined);
    if (!parsed.success) {
      const problem = parsed.error.issues[0];
      throw new OutlastError('BAD_REQUEST', `bad body: ${problem?.path.join('.') || 'body'}: ${problem?.message ?? 'invalid'}`);
    }
    const reason = parsed.data.reason ?? DEFAULT_STOP_REASON;
    const { after, ...answer } = await stop(reason);
    // 'close', not 'finish': a client that hangs up early still gets the stop it asked for.
    if (after !== undefined) reply.raw.once('close', after);
    return reply.status(202).send({ accepted: true, ...(answer.alreadyStopping === true ? {} : { planned: true, reason }), ...answer });
  });
}
