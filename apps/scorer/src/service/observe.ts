import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import { requestVersion } from './request-version.js';
import type { VersionSet } from './versions.js';

/** The status /metrics counts a request under when its client left before the answer (nginx's 499). */
export const CLIENT_CLOSED = '499';

/**
 * Every request is counted once its response closes: answered, with its
 * status code, or with status 499 (nginx's "client closed request") when
 * the client left before the answer was written; its latency by route. A
 * request a model version took is labelled with that version.
 */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      const version = requestVersion(request);
      const status = reply.raw.writableFinished ? String(reply.statusCode) : CLIENT_CLOSED;
      metrics.requests.inc(version === undefined ? { route, status } : { route, status, version });
      metrics.latency.observe(version === undefined ? { route } : { route, version }, reply.elapsedTime / 1000);
    });
    done();
  });
}

/** GET /healthz (the version serving, its workers and queue; 503 when none is) and GET /metrics (Prometheus). */
export function registerHealthAndMetrics(app: FastifyInstance, set: VersionSet): void {
  const { metrics } = set;
  app.get('/healthz', (_request, reply) => {
    const served = set.current;
    if (!served) return reply.code(503).send({ status: 'unavailable', model: set.name, queuedRows: 0 });
    const { model } = served;
    return {
      status: 'ok',
      model: model.info.model.name,
      modelVersion: model.info.modelVersion,
      model_version: served.version,
      predictions: [...model.predictions],
      workers: served.workers,
      queuedRows: served.answerer.batcher.pendingRows,
    };
  });

  app.get('/metrics', async (_request, reply) => {
    for (const served of [set.current, ...set.retiring]) {
      if (served) metrics.queuedRows.set({ version: served.version }, served.answerer.batcher.pendingRows);
    }
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
