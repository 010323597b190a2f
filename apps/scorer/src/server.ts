import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Feeds, Scores } from './feeds.js';
import { scoresToRows } from './feeds.js';
import { createMetrics, type Metrics } from './metrics.js';
import { MicroBatcher, OverloadedError } from './micro-batcher.js';
import type { ScoringModel } from './model.js';
import { RequestError, allowedFields, encodeRows, parseRows } from './request.js';

export interface ServiceLimits {
  /** Largest request body in bytes (413 beyond). */
  bodyLimit: number;
  /** Most rows per request (413 beyond). */
  maxRows: number;
  /** A request not scored within this many ms is answered 503. */
  timeoutMs: number;
  /** Most rows merged into one session run. */
  maxBatchRows: number;
  /** Rows allowed to wait for a worker before new requests get 503. */
  maxQueueRows: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  bodyLimit: 8 * 2 ** 20,
  maxRows: 10_000,
  timeoutMs: 5_000,
  maxBatchRows: 2_048,
  maxQueueRows: 100_000,
};

/** Anything that scores stacked feeds: the worker pool in production, stand-ins in tests. */
export interface FeedScorer {
  readonly workers: number;
  score(feeds: Feeds, outputs: string[]): Promise<Scores>;
}

export interface ServiceOptions {
  model: ScoringModel;
  scorer: FeedScorer;
  limits?: Partial<ServiceLimits>;
  logger?: FastifyBaseLogger | boolean;
}

export interface Service {
  app: FastifyInstance;
  metrics: Metrics;
  batcher: MicroBatcher;
  /** Stops taking requests, lets in-flight ones finish, then drains the batcher. Does not close the scorer. */
  close(): Promise<void>;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * The HTTP service: POST /v1/score, GET /healthz, GET /metrics. Errors are
 * always `{"error": message}` with a 4xx for the client's mistakes and a 5xx
 * only for ours (or overload/timeout, which a client may retry).
 */
export function buildService(options: ServiceOptions): Service {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { model, scorer } = options;
  const metrics = createMetrics();
  const outputs = [...model.predictions];
  const allowed = allowedFields(model);
  const batcher = new MicroBatcher((feeds) => scorer.score(feeds, outputs), {
    maxBatchRows: limits.maxBatchRows,
    concurrency: scorer.workers,
    maxQueueRows: limits.maxQueueRows,
    onBatch: (rows) => metrics.batchRows.observe(rows),
  });

  const logging = typeof options.logger === 'object' ? { loggerInstance: options.logger } : { logger: options.logger ?? false };
  const app = Fastify({
    ...logging,
    bodyLimit: limits.bodyLimit,
    // Slow or stalled uploads are cut off rather than holding a connection forever.
    requestTimeout: Math.max(30_000, limits.timeoutMs * 2),
    return503OnClosing: true,
  });

  // Only JSON is scored; without this, text/plain bodies would reach the route as strings.
  app.removeContentTypeParser('text/plain');

  // While shutting down, answers end their keep-alive connection: the server
  // closes only once every connection is gone, and a client's idle pooled
  // connection would otherwise hold it open after the last in-flight reply.
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    let status = error instanceof RequestError ? error.statusCode : (error.statusCode ?? 500);
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      status = 400;
      message = `invalid JSON body: ${error.message}`;
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than the ${limits.bodyLimit}-byte limit`;
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `unsupported content type '${request.headers['content-type'] ?? ''}': send application/json`;
    } else if (error instanceof OverloadedError || error instanceof TimeoutError) {
      status = 503;
      void reply.header('retry-after', '1');
    } else if (status >= 500) {
      request.log.error({ err: error }, 'scoring failed');
      message = `internal error: ${error.message}`;
    }
    void reply.code(status).send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url}; use POST /v1/score, GET /healthz, GET /metrics` });
  });

  app.get('/healthz', async () => ({
    status: 'ok',
    model: model.info.model.name,
    modelVersion: model.info.modelVersion,
    predictions: outputs,
    workers: scorer.workers,
    queuedRows: batcher.pendingRows,
  }));

  app.get('/metrics', async (_request, reply) => {
    metrics.queuedRows.set(batcher.pendingRows);
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post('/v1/score', async (request) => {
    const rows = parseRows(request.body, allowed, limits.maxRows);
    metrics.requestRows.observe(rows.length);
    const feeds = encodeRows(model, rows);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new TimeoutError(`scoring did not finish within ${limits.timeoutMs} ms`);
        controller.abort(e);
        reject(e);
      }, limits.timeoutMs);
    });
    try {
      const scores = await Promise.race([batcher.submit(feeds, rows.length, controller.signal), timeout]);
      return { modelVersion: model.info.modelVersion, predictions: scoresToRows(scores, outputs, rows.length) };
    } finally {
      clearTimeout(timer);
    }
  });

  return {
    app,
    metrics,
    batcher,
    async close() {
      closing = true;
      await app.close();
      await batcher.drain();
    },
  };
}
