/**
 * The control API: node:http on 127.0.0.1 by default, with a router of its
 * own (router.ts, pipeline.ts). /health and the status page's files are
 * open; every other route needs the bearer token, or the page's session
 * cookie from the page itself (access.ts). Every error, including the
 * server's own (bad JSON, oversized body, unknown route), leaves in one
 * shape: {error:{code, message}} with a status derived from the code.
 */
import type { Server } from 'node:http';
import { OutlastError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../log/logger.ts';
import type { MetricsSnapshot } from '../metrics/recorder.ts';
import type { ResidentReport } from '../resident.ts';
import type { ServiceStatus } from '../service/service.ts';
import type { Updates as Updater } from '../update/lazy-updater.ts';
import { createHttpServer } from '../host/node-http-server.ts';
import { authorize } from './access.ts';
import { noExtraKeys, objectBody } from './body-checks.ts';
import { onBadExpectation, onClientError } from './client-errors.ts';
import { registerEventsRoute } from './events-route.ts';
import { registerInsightRoutes } from './insight-routes.ts';
import type { Insights } from './insights.ts';
import type { LoginCodes } from './login-codes.ts';
import { LoginLimiter } from './login-limit.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { registerPageRoutes } from './page-route.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { createListener } from './pipeline.ts';
import { Router } from './router.ts';
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
  /** What this process holds in memory (`GET /resident`, in `outlast doctor --json`). */
  resident(): ResidentReport;
}

/** Options for {@link createApi}. */
export interface ApiOptions {
  bodyLimit: number;
  logger: Logger;
  /** Wall-clock ms: session expiry and the login brake. */
  now: () => number;
}

/** The API's server, as the supervisor starts and stops it. */
export interface ApiServer {
  /** Starts listening; rejects with Node's error (EADDRINUSE…) when it cannot. */
  listen(options: { host: string; port: number }): Promise<void>;
  /** Stops listening and ends every connection, an open /events stream included. */
  close(): Promise<void>;
  /** The HTTP server (its address once listening). */
  readonly server: Pick<Server, 'address'>;
}

const TARGETS = new Set(['service', 'supervisor']);

/** The target of `POST /restart`: the service unless the body names the supervisor. */
function restartTarget(body: unknown): 'service' | 'supervisor' {
  const fields = objectBody(body);
  noExtraKeys(fields, ['target']);
  const target = fields.target ?? 'service';
  if (typeof target !== 'string' || !TARGETS.has(target)) throw new OutlastError('BAD_REQUEST', 'bad body: "target" must be "service" or "supervisor"');
  return target as 'service' | 'supervisor';
}

function routes(router: Router, controller: ApiController, options: ApiOptions): void {
  router.get('/health', (_request, reply) => {
    const { state, pid } = controller.serviceStatus();
    const healthy = state === 'ready';
    reply.status(healthy ? 200 : 503);
    return { status: healthy ? 'ok' : state, service: { state, pid } };
  });

  router.get('/status', async () => {
    const { service: serviceExtras, ...rest } = (await controller.statusExtras()) as { service?: Record<string, unknown> };
    return {
      supervisor: controller.supervisorStatus(),
      service: { ...controller.serviceStatus(), ...serviceExtras },
      ...rest,
    };
  });

  router.post('/restart', async (request, reply) => {
    const target = restartTarget(request.body);
    const { strategy, after } = await controller.restart(target);
    if (after !== undefined) reply.raw.once('finish', after);
    reply.status(202);
    return { accepted: true, target, ...(strategy === undefined ? {} : { strategy }) };
  });

  registerStopRoute(router, (reason) => controller.stop(reason));
  registerUpdateRoutes(router, controller.updater);
  registerEventsRoute(router, controller.events);
  registerPageRoutes(router);
  registerLoginRoutes(router, { token: controller.token, codes: controller.logins, limiter: new LoginLimiter(options.now), now: options.now });
  registerInsightRoutes(router, controller.insights, controller.updater);
  registerMetricsRoute(router, () => controller.metrics());
  router.get('/resident', async () => controller.resident());
}

/** Builds the API (not yet listening). */
export function createApi(controller: ApiController, options: ApiOptions): ApiServer {
  const router = new Router();
  routes(router, controller, options);
  const server = createHttpServer(
    createListener(router, {
      bodyLimit: options.bodyLimit,
      logger: options.logger,
      onRequest: (request) => authorize(request, controller.token, options.now()),
    }),
  );
  // Refused by the parser, before any route: same shape as every answer.
  server.on('clientError', onClientError);
  server.on('checkExpectation', onBadExpectation);
  return {
    server,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        const failed = (err: Error): void => {
          server.off('listening', listening);
          reject(err);
        };
        const listening = (): void => {
          server.off('error', failed);
          resolve();
        };
        server.once('error', failed).once('listening', listening);
        server.listen(port, host);
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        // Every connection ends now: an open /events stream, or a client's
        // idle keep-alive socket, must not hold up the supervisor's exit.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
