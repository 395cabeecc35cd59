/**
 * `GET /metrics`: the Prometheus text exposition (version 0.0.4), behind
 * the bearer token like every route but /health. The counting runs from the
 * start (metrics/recorder.ts); the code that writes the text is imported at
 * the first scrape, so it costs nothing resident for those who never scrape.
 */
import type { FastifyInstance } from 'fastify';
import type { MetricsSnapshot } from '../metrics/recorder.ts';

/** Registers `/metrics` on `app`; `snapshot` is taken at each scrape. */
export function registerMetricsRoute(app: FastifyInstance, snapshot: () => MetricsSnapshot): void {
  app.get('/metrics', async (_request, reply) => {
    // The module system keeps it after the first import: later scrapes pay nothing for this.
    const { CONTENT_TYPE, renderMetrics } = await import('../metrics/families.ts');
    return reply.header('content-type', CONTENT_TYPE).header('cache-control', 'no-store').send(renderMetrics(snapshot()));
  });
}
