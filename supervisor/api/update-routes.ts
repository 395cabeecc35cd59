/**
 * The update routes of the control API: check, apply, progress, rollback.
 */
import { OutlastError } from '../errors.ts';
import type { SelectionRequest } from '../update/selection.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';
import { noExtraKeys, objectBody, optionalBoolean, optionalString } from './body-checks.ts';
import type { Router } from './router.ts';

/** `POST /updates/apply`'s body: `{version?, force?}`, only the keys given. */
function applyRequest(body: unknown): SelectionRequest {
  const fields = objectBody(body);
  noExtraKeys(fields, ['version', 'force']);
  const version = optionalString(fields, 'version', { min: 1, max: 100 });
  const force = optionalBoolean(fields, 'force');
  return { ...(version === undefined ? {} : { version }), ...(force === undefined ? {} : { force }) };
}

function requireUpdater(updater: Updater | undefined): Updater {
  if (updater === undefined) throw new OutlastError('UPDATES_NOT_CONFIGURED', 'updates are not configured (add "updates" to the config file)');
  return updater;
}

/** Registers /updates/* on `router`; answers 501 when updates are not configured. */
export function registerUpdateRoutes(router: Router, updater: Updater | undefined): void {
  router.get('/updates/check', async (request) => {
    const { force } = request.query;
    return requireUpdater(updater).check(force === '1' || force === 'true');
  });

  router.post('/updates/apply', async (request, reply) => {
    // The body is checked first: a wrong one is a 400 even where updates are off.
    const selection = applyRequest(request.body);
    const result = await requireUpdater(updater).apply(selection);
    reply.status('upToDate' in result ? 200 : 202);
    return result;
  });

  router.get('/updates/:id', async (request) => {
    return requireUpdater(updater).operation(request.params.id ?? '');
  });

  router.post('/updates/rollback', async (_request, reply) => {
    const started = await requireUpdater(updater).rollback();
    reply.status(202);
    return started;
  });
}
