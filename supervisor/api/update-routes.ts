/**
 * The update routes of the control API: check, apply, progress, rollback.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OutlastError } from '../errors.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';

const applyBody = z
  .strictObject({
    version: z.string().min(1).max(100).optional(),
    force: z.boolean().optional(),
  })
  .default({});

function badBody(error: z.ZodError): OutlastError {
  const problem = error.issues[0];
  const key = problem?.path.join('.') || 'body';
  const message = problem?.code === 'unrecognized_keys' ? `unknown key "${problem.keys.join('", "')}"` : `"${key}" ${problem?.message ?? 'is invalid'}`;
  return new OutlastError('BAD_REQUEST', `bad body: ${message}`);
}

function requireUpdater(updater: Updater | undefined): Updater {
  if (updater === undefined) throw new OutlastError('UPDATES_NOT_CONFIGURED', 'updates are not configured (add "updates" to the config file)');
  return updater;
}

/** Registers /updates/* on `app`; answers 501 when updates are not configured. */
export function registerUpdateRoutes(app: FastifyInstance, updater: Updater | undefined): void {
  app.get('/updates/check', async (request) => {
    const query = request.query as { force?: string };
    return requireUpdater(updater).check(query.force === '1' || query.force === 'true');
  });

  app.post('/updates/apply', async (request, reply) => {
    const parsed = applyBody.safeParse(request.body ?? undefined);
    if (!parsed.success) throw badBody(parsed.error);
    const result = await requireUpdater(updater).apply(parsed.data);
    return reply.status('upToDate' in result ? 200 : 202).send(result);
  });

  app.get('/updates/:id', async (request) => {
    const { id } = request.params as { id: string };
    return requireUpdater(updater).operation(id);
  });

  app.post('/updates/rollback', async (_request, reply) => {
    return reply.status(202).send(await requireUpdater(updater).rollback());
  });
}
