import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { BatchQueue } from './batch-queue.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { ScoringModel } from './model.js';
import { prepareContext, type AnswerOutcome, type RawRequest } from './prepare.js';
import { createAnswerer } from './service/answer.js';
import { answerErrors, answerUnrouted, createApp } from './service/http.js';
import { shutdown } from './service/lifecycle.js';
import { DEFAULT_LIMITS, type FeedScorer, type ServiceLimits } from './service/limits.js';
import { countRequests, registerHealthAndMetrics } from './service/observe.js';
import { registerV1 } from './service/v1.js';
import { registerOpenInference } from './service/v2.js';

export { CLIENT_CLOSED } from './service/observe.js';
export { DEFAULT_LIMITS, type FeedScorer, type ServiceLimits } from './service/limits.js';

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

/**
 * The HTTP service: POST /v1/score, GET /healthz, GET /metrics, and the
 * Open Inference Protocol (KServe v2) routes under /v2. Errors are
 * always `{"error": message}` with a 4xx for the client's mistakes and a 5xx
 * only for ours (or overload/timeout, which a client may retry). Each job
 * lives in service/: HTTP plumbing and routing (http.ts), answering through
 * the batcher (answer.ts), the routes (v1.ts, v2.ts, observe.ts for
 * /healthz and /metrics), and shutdown (lifecycle.ts).
 */
export function buildService(options: ServiceOptions): Service {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { model, scorer } = options;
  const metrics = createMetrics();
  const context = prepareContext(model);
  const answerer = createAnswerer(context, scorer, limits, metrics);
  const app = createApp(limits, metrics, options.logger);
  const close = shutdown(app, answerer.batcher, limits.shutdownTimeoutMs);
  countRequests(app, metrics);
  answerErrors(app, limits);
  answerUnrouted(app);
  registerHealthAndMetrics(app, model, scorer.workers, answerer.batcher, metrics);
  registerV1(app, answerer, limits);
  registerOpenInference(app, context, answerer, limits);
  return { app, metrics, batcher: answerer.batcher, close };
}
