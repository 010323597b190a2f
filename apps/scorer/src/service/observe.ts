import type { FastifyInstance } from 'fastify';
import type { BatchQueue } from '../batch-queue.js';
import type { Metrics } from '../metrics.js';
import type { ScoringModel } from '../model.js';
import type { AnswerOutcome, RawRequest } from '../prepare.js';

/** The status /metrics counts a request under when its client left before the answer (nginx's 499). */
export const CLIENT_CLOSED = '499';

/**
 * Every request is counted once its response closes: answered, with its
 * status code, or with status 499 (nginx's "client closed request") when
 * the client left before the answer was written; its latency by route.
 */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, status: reply.raw.writableFinished ? String(reply.statusCode) : CLIENT_CLOSED });
      metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    });
    done();
  });
}

/** GET /healthz (the model served, its workers and queue) and GET /metrics (Prometheus). */
export function registerHealthAndMetrics(app: FastifyInstance, model: ScoringModel, workers: number, batcher: BatchQueue<RawRequest, AnswerOutcome>, metrics: Metrics): void {
  app.get('/healthz', () => ({
    status: 'ok',
    model: model.info.model.name,
    modelVersion: model.info.modelVersion,
    predictions: [...model.predictions],
    workers,
    queuedRows: batcher.pendingRows,
  }));

  app.get('/metrics', async (_request, reply) => {
    metrics.queuedRows.set(batcher.pendingRows);
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
