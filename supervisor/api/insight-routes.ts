/**
 * The read-only routes the status page is built from, besides `/status`:
 *
 *   GET /doctor            `outlast doctor --json`'s report
 *   GET /why               `outlast why --json`'s verdict
 *   GET /updates?limit=N   the newest N operations (default 10, at most 50)
 */
import { OutlastError } from '../errors.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';
import type { Insights } from './insights.ts';
import type { Query, Router } from './router.ts';

/** `?limit=`: 10 when absent, else a whole number from 1 to 50. */
function listLimit(query: Query): number {
  const raw = query.limit;
  if (raw === undefined) return 10;
  // Number(), as a form field is read: ' 5' and '5.0' are 5; a repeated key is no number.
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw new OutlastError('BAD_REQUEST', 'bad query: "limit" must be a whole number from 1 to 50');
  return limit;
}

/** Registers /doctor, /why and /updates on `router`. */
export function registerInsightRoutes(router: Router, insights: Insights, updater: Updater | undefined): void {
  router.get('/doctor', async () => insights.doctor());

  router.get('/why', async () => insights.why());

  router.get('/updates', async (request) => {
    const limit = listLimit(request.query);
    if (updater === undefined) throw new OutlastError('UPDATES_NOT_CONFIGURED', 'updates are not configured (add "updates" to the config file)');
    return { operations: await updater.operations(limit) };
  });
}
