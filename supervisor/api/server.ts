/**
 * The control API: Fastify on 127.0.0.1 by default. /health and the status
 * page's files are open; every other route needs the bearer token, or the
 * page's session cookie from the page itself (access.ts). Every error, including Fastify's own
 * (bad JSON, oversized body, unknown route), leaves in one shape:
 * {error:{code, message}} with a status derived from the code.
 */
import Fastify, { type FastifyInstance, type FastifyError, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { diskError, OutlastError, type ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../log/logger.ts';
import type { MetricsSnapshot } from '../metrics/recorder.ts';
import type { ServiceStatus } from '../service/service.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';
import { authorize } from './access.ts';
import { onBadExpectation, onClientError } from './client-errors.ts';
import { registerEventsRoute } from './events-route.ts';
import { registerInsightRoutes } from './insight-routes.ts';
import type { Insights } from './insights.ts';
import type { LoginCodes } from './login-codes.ts';
import { LoginLimiter } from './login-limit.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { registerPageRoutes } from './page-route.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerStopRoute, type StopAnswer } from './stop-route.ts';
import { registerUpdateRoutes } from './update-routes.ts';

/** What the API can see and ask of the supervisor. */
export interface ApiController {
  token: string;
  supervisorStatus(): { pid: number; version: string; startedAt: string; name: string };
  serviceStatus(): ServiceStatus;
  /** Extra fields for `/status` (the running version, the last update). */
  statusExtras(): Promise<Record<string, unknown>>;
  /**
   * Starts a graceful restart; throws an OutlastError when it cannot. `after`
   * runs once the 202 has been sent (a supervisor restart closes this API).
   */
  restart(target: 'service' | 'supervisor'): Promise<{ strategy?: string; after?: () => void }>;
  /**
   * A planned stop: writes the planned-stop marker; `after` (run once the 202
   * has been sent) sets the stop off. Throws an OutlastError when it cannot.
   */
  stop(reason: string): Promise<StopAnswer & { after?: () => void }>;
  updater: Updater | undefined;
  events: EventBus;
  /** The status page's one-time login codes (also handed out by the `--banner`). */
  logins: LoginCodes;
  /** The doctor's report and the last death, for the status page. */
  insights: Insights;
  /** What `/metrics` reports, taken at each scrape. */
  metrics(): MetricsSnapshot;
}

/** Options for {@link createApi}. */
export interface ApiOptions {
  bodyLimit: number;
  logger: Logger;
  /** Wall-clock ms: session expiry and the login brake. */
  now: () => number;
}

const restartBody = z
  .strictObject({ target: z.enum(['service', 'supervisor']).default('service') })
  .default({ target: 'service' });

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status >= 400 && status < 500) return 'BAD_REQUEST';
  return 'INTERNAL';
}

function toApiError(err: FastifyError | OutlastError | Error): OutlastError {
  if (err instanceof OutlastError) return err;
  const disk = diskError(err);
  if (disk !== undefined) return disk;
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OutlastError(codeForStatus(status), err.message, { cause: err });
  }
  return new OutlastError('INTERNAL', 'internal error', { cause: err });
}

/** Builds the Fastify app (not yet listening). */
export function createApi(controller: ApiController, options: ApiOptions): FastifyInstance {
  // forceCloseConnections: an open /events stream must not hold up shutdown.
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Refused by the parser, before any route: same shape as every answer.
    clientErrorHandler: onClientError,
    // A bad URL encoding or an over-long path parameter, found while routing.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const error = toApiError(err);
      void reply.status(error.httpStatus).send(error.toJSON());
    },
  });
  app.server.on('checkExpectation', onBadExpectation);

  app.addHook('onRequest', async (request) => authorize(request, controller.token, options.now()));

  app.setErrorHandler(async (err: FastifyError | OutlastError, _request, reply) => {
    const error = toApiError(err);
    if (error.code === 'INTERNAL') options.logger.error({ err }, 'API request failed');
    return reply.status(error.httpStatus).send(error.toJSON());
  });

  app.setNotFoundHandler(async (request, reply) => {
    const error = new OutlastError('NOT_FOUND', `no route ${request.method} ${request.url}`);
    return reply.status(404).send(error.toJSON());
  });

  app.get('/health', async (_request, reply) => {
    const { state, pid } = controller.serviceStatus();
    const healthy = state === 'ready';
    return reply.status(healthy ? 200 : 503).send({ status: healthy ? 'ok' : state, service: { state, pid } });
  });

  app.get('/status', async () => {
    const { service: serviceExtras, ...rest } = (await controller.statusExtras()) as { service?: Record<string, unknown> };
    return {
      supervisor: controller.supervisorStatus(),
      service: { ...controller.serviceStatus(), ...serviceExtras },
      ...rest,
    };
  });

  app.post('/restart', async (request, reply) => {
    const parsed = restartBody.safeParse(request.body ?? undefined);
    if (!parsed.success) {
      const problem = parsed.error.issues[0];
      throw new OutlastError('BAD_REQUEST', `bad body: ${problem?.path.join('.') || 'body'}: ${problem?.message ?? 'invalid'}`);
    }
    const { strategy, after } = await controller.restart(parsed.data.target);
    if (after !== undefined) reply.raw.once('finish', after);
    return reply.status(202).send({ accepted: true, target: parsed.data.target, ...(strategy === undefined ? {} : { strategy }) });
  });

  registerStopRoute(app, (reason) => controller.stop(reason));
  registerUpdateRoutes(app, controller.updater);
  registerEventsRoute(app, controller.events);
  registerPageRoutes(app);
  registerLoginRoutes(app, { token: controller.token, codes: controller.logins, limiter: new LoginLimiter(options.now), now: options.now });
  registerInsightRoutes(app, controller.insights, controller.updater);
  registerMetricsRoute(app, () => controller.metrics());
  return app;
}
