import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import { packageVersion } from '@esm2/cli-kit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Feeds, Scores } from './feeds.js';
import { createMetrics, type Metrics } from './metrics.js';
import { BatchQueue, OverloadedError } from './batch-queue.js';
import type { ScoringModel } from './model.js';
import { BINARY_EXTENSION, BINARY_HEADER, modelMetadata } from './open-inference.js';
import { answerBatch, outcomeError, prepareContext, type Answer, type AnswerOutcome, type AnsweredBatch, type RawRequest } from './prepare.js';
import { RequestError } from './request.js';

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
  /**
   * Answers a batch of request bodies elsewhere (the pool: answerBatch in a
   * worker, off the HTTP thread). Without it the service runs the same
   * answerBatch on its own thread, scoring through `score`.
   */
  answerBodies?(requests: RawRequest[], maxBatchRows: number): Promise<AnsweredBatch>;
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
  /** Request bodies waiting for (or being answered by) a worker, merged into batches. */
  batcher: BatchQueue<RawRequest, AnswerOutcome>;
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

/** The status /metrics counts a request under when its client left before the answer (nginx's 499). */
export const CLIENT_CLOSED = '499';

/**
 * Node's `clientError`: the HTTP parser refused the bytes (or the request
 * timed out) before any route saw a request. Answered as every other error,
 * `{"error": message}` (instead of Fastify's own body), counted in /metrics
 * under route "unparsed", and the connection closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex, limits: ServiceLimits, metrics: Metrics): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status: number;
  let message: string;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = `the request (headers and body) was not received within ${limits.requestTimeoutMs} ms`;
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = `the request headers are larger than the server's ${maxHeaderSize}-byte limit`;
  } else {
    status = 400;
    message = `malformed HTTP request: ${error.message}${error.code ? ` (${error.code})` : ''}`;
  }
  metrics.requests.inc({ route: 'unparsed', status: String(status) });
  // Nothing can be written in the middle of an answer already under way.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !inProgress) {
    const body = JSON.stringify({ error: message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

const ROUTES = 'POST /v1/score, GET /healthz, GET /metrics, and the Open Inference Protocol under /v2 (docs/serving.md)';

/**
 * The HTTP service: POST /v1/score, GET /healthz, GET /metrics, and the
 * Open Inference Protocol (KServe v2) routes under /v2. Errors are
 * always `{"error": message}` with a 4xx for the client's mistakes and a 5xx
 * only for ours (or overload/timeout, which a client may retry).
 */
export function buildService(options: ServiceOptions): Service {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { model, scorer } = options;
  const metrics = createMetrics();
  const outputs = [...model.predictions];
  const context = prepareContext(model);
  const answer = (requests: RawRequest[]): Promise<AnsweredBatch> =>
    scorer.answerBodies ? scorer.answerBodies(requests, limits.maxBatchRows) : answerBatch(context, requests, limits.maxBatchRows, (feeds) => scorer.score(feeds, outputs));
  // A body's rows are known only once a worker has parsed it: the queue weighs each body at the
  // bytes per row seen so far (a running mean over answered bodies), which is what maxQueueRows
  // and maxBatchRows bound here. The worker splits session runs at maxBatchRows exactly.
  let bytesPerRow = 100;
  const estimatedRows = (request: RawRequest) => Math.max(1, Math.round((request.body?.byteLength ?? 0) / bytesPerRow));
  const batcher = new BatchQueue<RawRequest, AnswerOutcome>(
    async (requests) => {
      const { outcomes, runs } = await answer(requests);
      for (const rows of runs) metrics.batchRows.observe(rows);
      outcomes.forEach((o, k) => {
        const bytes = requests[k]!.body?.byteLength ?? 0;
        if (o.rows !== undefined && o.rows > 0 && bytes > 0) bytesPerRow = 0.9 * bytesPerRow + 0.1 * (bytes / o.rows);
      });
      return outcomes;
    },
    { maxBatchRows: limits.maxBatchRows, concurrency: scorer.workers, maxQueueRows: limits.maxQueueRows },
  );

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
    // Errors Node's HTTP parser meets before there is a request (malformed request line or headers, headers past
    // the size limit, a request not received in time) are answered in the documented `{"error": …}` shape and counted.
    clientErrorHandler: (error, socket) => answerClientError(error, socket, limits, metrics),
  });

  // Only JSON is scored; without this, text/plain bodies would reach the route as strings.
  app.removeContentTypeParser('text/plain');
  // JSON bodies reach the route as bytes: prepareRequest parses them (in a
  // worker when the scorer has them), with JSON.parse rather than Fastify's
  // secure-json-parse, so a syntax error names its position.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

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

  // Every request is counted once its response closes: answered, with its status code, or with status 499 (nginx's
  // "client closed request") when the client left before the answer was written.
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, status: reply.raw.writableFinished ? String(reply.statusCode) : CLIENT_CLOSED });
      metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    });
    done();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    let status = error instanceof RequestError ? error.statusCode : (error.statusCode ?? 500);
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than the ${limits.bodyLimit}-byte limit`;
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const wanted = request.url.startsWith('/v2/') ? 'application/json, or application/octet-stream with Inference-Header-Content-Length' : 'application/json';
      message = `unsupported content type '${request.headers['content-type'] ?? ''}': send ${wanted}`;
    } else if (error instanceof OverloadedError || error instanceof TimeoutError) {
      status = 503;
      void reply.header('retry-after', '1');
    } else if (status >= 500) {
      // The details (messages, paths) stay in the log; the client gets the request id to find them by.
      request.log.error({ err: error }, 'scoring failed');
      message = `internal error (request ${request.id}); the server log has the details`;
    }
    void reply.code(status).send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A parametric route (/v2/models/:name/infer) matches any value in place of each :param.
    const known =
      methods.get(path) ??
      [...methods].find(([url]) => url.includes(':') && new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}$`).test(path))?.[1];
    if (known) {
      const allow = [...known].sort().join(', ');
      void reply.code(405).header('allow', allow).send({ error: `method ${request.method} is not allowed on ${path}; use ${allow}` });
      return;
    }
    void reply.code(404).send({ error: `no route ${request.method} ${request.url}; use ${ROUTES}` });
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

  /**
   * A request's body answered through the batcher (parsed, validated and
   * encoded as training did, scored, its response body written) within the
   * per-request timeout; a refusal is thrown as the error it was.
   */
  async function answerRequest(request: RawRequest): Promise<Answer> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new TimeoutError(`scoring did not finish within ${limits.timeoutMs} ms`);
        controller.abort(e);
        reject(e);
      }, limits.timeoutMs);
    });
    let outcome: AnswerOutcome;
    try {
      outcome = await Promise.race([batcher.submit(request, estimatedRows(request), controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (outcome.rows !== undefined) metrics.requestRows.observe(outcome.rows);
    if (!outcome.ok) throw outcomeError(outcome);
    return outcome;
  }

  app.post<{ Body: Buffer | undefined }>('/v1/score', async (request, reply) => {
    const { body } = await answerRequest({ route: 'v1', body: request.body, maxRows: limits.maxRows });
    return reply.type('application/json; charset=utf-8').send(body);
  });

  // The Open Inference Protocol (KServe v2) REST API: see open-inference.ts for the texts followed.
  const name = model.name;
  const version = model.info.modelVersion;
  const metadata = modelMetadata(model, context.specs);
  const serverMetadata = { name: 'esm2-score', version: packageVersion(import.meta.url), extensions: [BINARY_EXTENSION] };
  /** The model a /v2/models/{name}[/versions/{version}] path names, or a 404 naming the one served. */
  const checkModel = (params: { name: string; version?: string }) => {
    if (params.name !== name) throw new RequestError(`unknown model '${params.name}': this server serves '${name}'`, 404);
    if (params.version !== undefined && params.version !== version) {
      throw new RequestError(`model '${name}' has no version '${params.version}': it serves version '${version}'`, 404);
    }
  };
  type ModelParams = { Params: { name: string; version?: string } };
  // Health answers are the status code alone, with an empty body, as the protocol asks.
  app.get('/v2/health/live', (_request, reply) => reply.code(200).send());
  app.get('/v2/health/ready', (_request, reply) => reply.code(200).send());
  app.get('/v2', () => serverMetadata);
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<ModelParams>(base, (request) => {
      checkModel(request.params);
      return metadata;
    });
    app.get<ModelParams>(`${base}/ready`, (request, reply) => {
      checkModel(request.params);
      return reply.code(200).send();
    });
  }
  // The infer routes read their body as bytes: JSON, or with the binary tensor data extension
  // a JSON header followed by raw tensors (sent as application/octet-stream).
  void app.register((scope, _options, registered) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
      scope.post<ModelParams & { Body: Buffer | undefined }>(`${base}/infer`, async (request, reply) => {
        checkModel(request.params);
        const header = request.headers[BINARY_HEADER];
        const binaryHeader = Array.isArray(header) ? header[0] : header;
        const { body, headerLength } = await answerRequest({ route: 'v2', body: request.body, binaryHeader, maxRows: limits.maxRows });
        if (headerLength === undefined) return reply.type('application/json; charset=utf-8').send(body);
        const bytes = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        return reply.header('content-type', 'application/octet-stream').header(BINARY_HEADER, String(headerLength)).send(bytes);
      });
    }
    registered();
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
