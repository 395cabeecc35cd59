/**
 * `GET /metrics`: the Prometheus text exposition (version 0.0.4), behind
 * the bearer token like every route but /health. The counting runs from the
 * start (metrics/recorder.ts); the code that writes the text is imported at
 * the first scrape, so it costs nothing resident for those who never scrape.
 */
import type { MetricsSnapshot } from '../metrics/recorder.ts';
import type { Router } from './router.ts';

/** Registers `/metrics` on `router`; `snapshot` is taken at each scrape. */
export function registerMetricsRoute(router: Router, snapshot: () => MetricsSnapshot): void {
  router.get('/metrics', async (_request, reply) => {
    // The module system keeps it after the first import: later scrapes pay nothing for this.
    const { CONTENT_TYPE, renderMetrics } = await import('../metrics/families.ts');
    reply.header('content-type', CONTENT_TYPE).header('cache-control', 'no-store');
    return renderMetrics(snapshot());
  });
}
