import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus metrics, on a registry of its own so several
 * servers (tests) never share counters. Every scoring series carries a
 * `version` label: the model version that answered (a request refused before
 * a version took it, and the routes that score nothing, have none).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'esm2_scorer_' });
  const rowBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
  return {
    registry,
    requests: new Counter({
      name: 'esm2_scorer_requests_total',
      help: 'HTTP requests by route, status code and model version',
      labelNames: ['route', 'status', 'version'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'esm2_scorer_request_duration_seconds',
      help: 'HTTP request latency by route and model version',
      labelNames: ['route', 'version'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    requestRows: new Histogram({ name: 'esm2_scorer_request_rows', help: 'Rows per scoring request by model version', labelNames: ['version'] as const, buckets: rowBuckets, registers: [registry] }),
    batchRows: new Histogram({
      name: 'esm2_scorer_batch_rows',
      help: 'Rows per micro-batch sent to a worker (several requests merged), by model version',
      labelNames: ['version'] as const,
      buckets: rowBuckets,
      registers: [registry],
    }),
    queuedRows: new Gauge({ name: 'esm2_scorer_queued_rows', help: 'Rows waiting for a worker, by model version', labelNames: ['version'] as const, registers: [registry] }),
    serving: new Gauge({
      name: 'esm2_scorer_model_version_serving',
      help: '1 for the model version taking new requests, 0 for one loaded but finishing its in-flight requests',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
    loads: new Counter({
      name: 'esm2_scorer_model_loads_total',
      help: 'Model versions loaded (result "loaded") or refused (result "refused": failed to load, verify or warm up)',
      labelNames: ['version', 'result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
