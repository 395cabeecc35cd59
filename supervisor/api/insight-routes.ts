/**
 * The read-only routes the status page is built from, besides `/status`:
 *
 *   GET /doctor            `outlast doctor --json`'s report
 *   GET /why               `outlast why --json`'s verdict
 *   GET /updates?limit=N   the newest N operations (default 10, at most 50)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { OutlastError } from '../errors.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';
import type { Insights } from './insights.ts';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) });

/** Registers /doctor, /why and /updates on `app`. */
export function registerInsightRoutes(app: FastifyInstance, insights: Insights, updater: Updater | undefined): void {
  app.get('/doctor', async () => insights.doctor());

  app.get('/why', async () => insights.why());

  app.get('/updates', async (request) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) throw new OutlastError('BAD_REQUEST', 'bad query: "limit" must be a whole number from 1 to 50');
    if (updater === undefined) throw new OutlastError('UPDATES_NOT_CONFIGURED', 'updates are not configured (add "updates" to the config file)');
    return { operations: await updater.operations(parsed.data.limit) };
  });
}
