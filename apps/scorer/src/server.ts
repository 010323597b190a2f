import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { BatchQueue } from './batch-queue.js';
import type { Metrics } from './metrics.js';
import type { ScoringModel } from './model.js';
import type { AnswerOutcome, RawRequest } from './prepare.js';
import { answerErrors, answerUnrouted, createApp } from './service/http.js';
import { shutdown } from './service/lifecycle.js';
import type { FeedScorer, ServiceLimits } from './service/limits.js';
import { countRequests, registerHealthAndMetrics } from './service/observe.js';
import { registerRepository, type RepositoryControl } from './service/repository.js';
import { registerV1 } from './service/v1.js';
import { registerOpenInference } from './service/v2.js';
import { VersionSet } from './service/versions.js';

export { CLIENT_CLOSED } from './service/observe.js';
export { DEFAULT_LIMITS, type FeedScorer, type ServiceLimits } from './service/limits.js';
export { VersionSet, type Lease, type ServedVersion, type VersionScorer } from './service/versions.js';
export type { RepositoryControl, VersionState } from './service/repository.js';

export type ServiceOptions = {
  logger?: FastifyBaseLogger | boolean;
} & (
  | {
      /** One model, served as its own version (`model.version`) for the life of the service. */
      model: ScoringModel;
      scorer: FeedScorer;
      limits?: Partial<ServiceLimits>;
    }
  | {
      /** Versions switched while serving (a model repository's); the service's limits and metrics are the set's. */
      versions: VersionSet;
      /** The Triton repository routes under /v2/repository, when the versions come from one. */
      repository?: RepositoryControl;
    }
);

export interface Service {
  app: FastifyInstance;
  metrics: Metrics;
  /** The model versions the routes answer with. */
  versions: VersionSet;
  /** Request bodies waiting for (or being answered by) the current version's workers, merged into batches. */
  readonly batcher: BatchQueue<RawRequest, AnswerOutcome>;
  /**
   * Stops taking requests, closes idle connections at once, lets in-flight
   * requests finish, then drains the batchers. Connections still open after
   * `shutdownTimeoutMs` are destroyed and the batchers are no longer waited
   * for: resolves `true` when everything finished in time, `false` when it
   * had to cut things off (the scorer may then still be running work).
   * Does not close the scorers.
   */
  close(): Promise<boolean>;
}

/**
 * The HTTP service: POST /v1/score, GET /healthz, GET /metrics, and the
 * Open Inference Protocol (KServe v2) routes under /v2 (with a model
 * repository, Triton's repository routes too). Errors are always
 * `{"error": message}` with a 4xx for the client's mistakes and a 5xx
 * only for ours (or overload/timeout, which a client may retry). Each job
 * lives in service/: HTTP plumbing and routing (http.ts), answering through
 * a version's batcher (answer.ts), the versions served (versions.ts), the
 * routes (v1.ts, v2.ts, repository.ts, observe.ts for /healthz and
 * /metrics), and shutdown (lifecycle.ts).
 */
export function buildService(options: ServiceOptions): Service {
  let versions: VersionSet;
  if ('versions' in options) versions = options.versions;
  else {
    versions = new VersionSet(options.model.name, options.limits);
    // The caller owns the scorer (startService closes its pool): the service never closes it.
    versions.switchTo(versions.prepare(options.model, options.scorer, { owned: false }));
  }
  const { limits, metrics } = versions;
  const app = createApp(limits, metrics, options.logger);
  const close = shutdown(app, () => versions.drain(), limits.shutdownTimeoutMs);
  countRequests(app, metrics);
  answerErrors(app, limits);
  answerUnrouted(app);
  registerHealthAndMetrics(app, versions);
  registerV1(app, versions);
  registerOpenInference(app, versions);
  if ('repository' in options && options.repository) registerRepository(app, options.repository);
  return {
    app,
    metrics,
    versions,
    get batcher() {
      const current = versions.current ?? versions.retiring[0];
      if (!current) throw new Error('no model version is loaded');
      return current.answerer.batcher;
    },
    close,
  };
}
