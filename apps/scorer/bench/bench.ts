/**
 * The scorer's speed on the default-size ESM2 (9 categorical fields, dim 16,
 * towers 256-128-64) trained-shape model with real encoders:
 *  1. scoring through the scorer (JSON rows → encoders → worker pool →
 *     onnxruntime) at batch 1 / 64 / 1024, for 1 and 2 intra-op threads,
 *     spinning off and on;
 *  2. the HTTP service under autocannon on 127.0.0.1: 100-row requests at
 *     concurrency 1, 8 and 32, each bounded in time.
 *
 *   pnpm --filter @esm2/scorer bench [-- --seconds 1 --http-seconds 4]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportArtifactToOnnx } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { fitEncoders, writeSynthetic } from '@esm2/data';
import autocannon from 'autocannon';
import { loadScoringModel, type ScoringModel } from '../src/model.js';
import { ScoringPool } from '../src/pool.js';
import { encodeRows } from '../src/request.js';
import { concatFeeds } from '../src/feeds.js';
import { startService } from '../src/serve.js';
import { csvRows, requestRows } from '../src/test-support/rows.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('--seconds', 1);
const HTTP_SECONDS = arg('--http-seconds', 4);

const dir = await mkdtemp(join(tmpdir(), 'esm2-scorer-bench-'));
try {
  // Synthetic data has 9 categorical fields (+ a tag list and 2 numerics), as in the paper.
  const csv = join(dir, 'data.csv');
  const data = await writeSynthetic(csv, { rows: 20_000, seed: 5 });
  const encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });
  const model = buildModel(encoders.schema, {});
  const onnx = join(dir, 'esm2.onnx');
  await exportArtifactToOnnx(artifactFromModel(model, encoders.schema, initWeights(model.graph, 1), { encoders: encoders.toJSON() }), onnx);
  const scoring = await loadScoringModel(onnx);
  const rows = requestRows(csvRows(csv));
  console.log(`ESM2 default size (${encoders.schema.fields.length} fields, dim 16, towers 256-128-64), ${rows.length} synthetic rows`);

  await benchScorer(scoring, rows);
  await benchHttp(scoring, rows);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Rows/s of the full scoring path (encode on this thread, score in one worker), one batch at a time. */
async function benchScorer(model: ScoringModel, rows: Record<string, unknown>[]) {
  console.log(`\nthrough the scorer (JSON rows → encoders → worker → onnxruntime), 1 worker, ${SECONDS}s per cell`);
  console.log('threads  spinning  batch   samples/s    ms/batch');
  for (const threads of [1, 2]) {
    for (const spinning of [false, true]) {
      const pool = new ScoringPool(model.source, { workers: 1, session: { threads, spinning } });
      for (const batch of [1, 64, 1024]) {
        const once = async (k: number) => {
          const start = (k * batch) % (rows.length - batch);
          const feeds = concatFeeds([encodeRows(model, rows.slice(start, start + batch))]);
          await pool.score(feeds, model.predictions);
        };
        for (let k = 0; k < 20; k++) await once(k);
        let runs = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < SECONDS * 1000) await once(runs++);
        const ms = performance.now() - t0;
        console.log(
          `${String(threads).padStart(7)}  ${(spinning ? 'on' : 'off').padStart(8)}  ${String(batch).padStart(5)}  ${Math.round((runs * batch * 1000) / ms).toString().padStart(10)}  ${(ms / runs).toFixed(3).padStart(10)}`,
        );
      }
      await pool.close();
    }
  }
}

/** Latency and throughput of POST /v1/score with 100-row bodies. */
async function benchHttp(model: ScoringModel, rows: Record<string, unknown>[]) {
  const bodies = Array.from({ length: 16 }, (_, k) => JSON.stringify({ rows: rows.slice(k * 100, k * 100 + 100) }));
  for (const workers of [1, 2]) {
    const running = await startService({ model, port: 0, workers, session: { threads: 1, spinning: false } });
    console.log(`\nHTTP POST /v1/score, 100 rows per request, ${workers} worker(s) × 1 intra-op thread, ${HTTP_SECONDS}s per level, autocannon on ${running.url}`);
    console.log('concurrency   p50 ms   p99 ms      req/s     rows/s   errors  mean rows/session run');
    for (const connections of [1, 8, 32]) {
      const before = await batchStats(running.url);
      const result = await autocannon({
        url: `${running.url}/v1/score`,
        connections,
        duration: HTTP_SECONDS,
        requests: bodies.map((body) => ({ method: 'POST' as const, path: '/v1/score', headers: { 'content-type': 'application/json' }, body })),
      });
      const after = await batchStats(running.url);
      const meanBatch = (after.sum - before.sum) / Math.max(1, after.count - before.count);
      const bad = result.errors + result.timeouts + result.non2xx;
      console.log(
        `${String(connections).padStart(11)}  ${result.latency.p50.toFixed(1).padStart(7)}  ${result.latency.p99.toFixed(1).padStart(7)}  ${Math.round(result.requests.average).toString().padStart(9)}  ${Math.round(result.requests.average * 100).toString().padStart(9)}  ${String(bad).padStart(7)}  ${meanBatch.toFixed(0).padStart(6)}`,
      );
    }
    await running.close();
  }
}

async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return { sum: num('esm2_scorer_batch_rows_sum'), count: num('esm2_scorer_batch_rows_count') };
}
