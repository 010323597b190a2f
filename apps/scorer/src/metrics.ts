import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, on a registry of its own so several servers (tests) never share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'esm2_scorer_' });
  const rowBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
  return {
    registry,
    requests: new Counter({
      name: 'esm2_scorer_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'esm2_scorer_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    requestRows: new Histogram({ name: 'esm2_scorer_request_rows', help: 'Rows per scoring request', buckets: rowBuckets, registers: [registry] }),
    batchRows: new Histogram({
      name: 'esm2_scorer_batch_rows',
      help: 'Rows per micro-batch sent to a worker (several requests merged)',
      buckets: rowBuckets,
      registers: [registry],
    }),
    queuedRows: new Gauge({ name: 'esm2_scorer_queued_rows', help: 'Rows waiting for a worker', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
