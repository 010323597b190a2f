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
  /** A request (headers and body) not received within this many ms is answered 408 and its connection closed. */
  requestTimeoutMs: number;
  /** On close, connections still open after this many ms (a stalled upload, a slow reader) are destroyed. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  bodyLimit: 8 * 2 ** 20,
  maxRows: 10_000,
  timeoutMs: 5_000,
  maxBatchRows: 2_048,
  maxQueueRows: 100_000,
  requestTimeoutMs: 10_000,
  shutdownTimeoutMs: 10_000,
};

/**
 * Node checks `requestTimeout` only every `connectionsCheckingInterval`
 * (30 s by default), so a stalled upload would outlive a shorter timeout by
 * up to 30 s. Checking at a quarter of the timeout (at most every second)
 * closes it within 1.25× the timeout; a check walks only the connections
 * with a request in progress, so it is cheap.
 */
function checkingInterval(requestTimeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(requestTimeoutMs / 4)));
}

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
  /**
   * Stops taking requests, closes idle connections at once, lets in-flight
   * requests finish, then drains the batcher. Connections still open after
   * `shutdownTimeoutMs` are destroyed and the batcher is no longer waited
   * for: resolves `true` when everything finished in time, `false` when it
   * had to cut things off (the scorer may then still be running work).
   * Does not close the scorer.
   */
  close(): Promise<boolean>;
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
    // Slow or stalled uploads are answered 408 and cut off rather than holding a connection (and shutdown) forever.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: checkingInterval(limits.requestTimeoutMs),
    },
    return503OnClosing: true,
  });

  // Only JSON is scored; without this, text/plain bodies would reach the route as strings.
  app.removeContentTypeParser('text/plain');
  // JSON.parse instead of Fastify's secure-json-parse: its error names the
  // position of a syntax error, and a "__proto__" key becomes a plain own
  // key (JSON.parse never sets a prototype), which parseRows then refuses by
  // name like any other unknown key, rather than "Body is not valid JSON".
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(new RequestError(`invalid JSON body: ${(e as Error).message}`), undefined);
    }
  });

  // Paths and their methods, for 405 + Allow on a known path with the wrong method.
  const methods = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const set = methods.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(route.url, set);
  });

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
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
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
    const path = request.url.split('?')[0]!;
    const known = methods.get(path);
    if (known) {
      const allow = [...known].sort().join(', ');
      void reply.code(405).header('allow', allow).send({ error: `method ${request.method} is not allowed on ${path}; use ${allow}` });
      return;
    }
    void reply.code(404).send({ error: `no route ${request.method} ${request.url}; use POST /v1/score, GET /healthz, GET /metrics` });
  });

  app.get('/healthz', () => ({
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
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          app.log.warn(`shutdown: connections still open after ${limits.shutdownTimeoutMs} ms, closing them`);
          app.server.closeAllConnections();
          resolve(false);
        }, Math.min(limits.shutdownTimeoutMs, 2 ** 31 - 1)); // setTimeout cannot wait longer
      });
      try {
        // Fastify closes idle keep-alive connections at once, then waits for the rest.
        const closed = app.close();
        const finished = closed.then(() => batcher.drain()).then(() => true as const);
        const clean = await Promise.race([finished, deadline]);
        // Past the deadline every connection is destroyed, so the server closes now;
        // work still in the batcher belongs to requests that are gone.
        if (!clean) await closed;
        return clean;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
