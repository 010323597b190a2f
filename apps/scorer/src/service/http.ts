import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { OverloadedError, TimeoutError } from '../batch-queue.js';
import type { Metrics } from '../metrics.js';
import { RequestError } from '../request.js';
import type { ServiceLimits } from './limits.js';

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

/**
 * The Fastify instance with the service's HTTP limits (body size, request
 * and header timeouts), its errors before any route (Node's parser) answered
 * and counted, and JSON bodies handed to the routes as bytes.
 */
export function createApp(limits: ServiceLimits, metrics: Metrics, logger: FastifyBaseLogger | boolean | undefined): FastifyInstance {
  const logging = typeof logger === 'object' ? { loggerInstance: logger } : { logger: logger ?? false };
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
  return app;
}

const ROUTES = 'POST /v1/score, GET /healthz, GET /metrics, and the Open Inference Protocol under /v2 (docs/serving.md)';

/**
 * Routing's answers for what no route answers: 405 with Allow for a known
 * path and the wrong method, 404 naming the routes otherwise. Call before
 * the routes are added (it records them as they are).
 */
export function answerUnrouted(app: FastifyInstance): void {
  // Paths and their methods, for 405 + Allow on a known path with the wrong method.
  const methods = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const set = methods.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(route.url, set);
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
}

/**
 * Every error as `{"error": message}`: a 4xx for the client's mistakes, 503
 * with Retry-After for overload and timeouts, a RequestError's own status
 * and message (503 when no model version is loaded), and for anything else
 * a 500 whose details stay in the log.
 */
export function answerErrors(app: FastifyInstance, limits: ServiceLimits): void {
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
    } else if (status >= 500 && !(error instanceof RequestError)) {
      // The details (messages, paths) stay in the log; the client gets the request id to find them by.
      request.log.error({ err: error }, 'scoring failed');
      message = `internal error (request ${request.id}); the server log has the details`;
    }
    void reply.code(status).send({ error: message });
  });
}
