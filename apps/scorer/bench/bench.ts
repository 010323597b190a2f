/**
 * The scorer's speed on the default-size ESM2 (9 categorical fields, dim 16,
 * towers 256-128-64) trained-shape model with real encoders:
 *  1. batch-1 latency through the session alone (encoded feeds → onnxruntime
 *     on this thread, no HTTP), and with this thread's encoding in front;
 *  2. scoring through the scorer (JSON rows → encoders → worker pool →
 *     onnxruntime) at batch 1 / 64 / 1024, for 1 and 2 intra-op threads,
 *     spinning off and on;
 *  3. rows/s of the raw-feature ONNX (`export --raw-features`: the encoders
 *     inside the graph) against the id-input ONNX, on this thread, from JSON
 *     rows (the host's encoding, or building the raw tensors, included) and
 *     through the session alone, at batch 100 and 4096;
 *  4. the HTTP service (`esm2-score serve`, a child process, so the load
 *     generator does not share its event loop) under autocannon on
 *     127.0.0.1: 100-row requests to POST /v1/score and to the Open
 *     Inference Protocol's POST /v2/models/{name}/infer (JSON) at
 *     concurrency 1, 8 and 32, each bounded in time; and batch-1 latency
 *     through HTTP (one request at a time).
 * Every row of figures carries the 1-minute load average: the machine is
 * shared, so compare figures only across runs made under the same load.
 *
 *   pnpm --filter @esm2/scorer bench [-- --seconds 1 --http-seconds 4 --workers 1,2
 *                                        --sections session,scorer,raw,http --threads 1 --spinning
 *                                        --cpu-prof DIR --serve-cli FILE]
 * --threads and --spinning set the served sessions' intra-op threads and spinning;
 * --cpu-prof DIR writes a V8 CPU profile of each serve process into DIR;
 * --serve-cli FILE serves with another copy of src/cli.ts (say, an older
 * commit's, to compare before/after under the same load).
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxSession, exportArtifactToOnnx } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { fitEncoders, rawFeatureEncodings, rawFeeds, writeSynthetic, type Encoders } from '@esm2/data';
import autocannon from 'autocannon';
import { loadScoringModel, type ScoringModel } from '../src/model.js';
import { inputSpecs } from '../src/open-inference.js';
import { ScoringPool } from '../src/pool.js';
import { encodeRows } from '../src/request.js';
import { concatFeeds } from '../src/feeds.js';
import { csvRows, requestRows } from '../src/test-support/rows.js';
import { load, pct, serve } from './support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SECONDS = Number(arg('--seconds', '1'));
const HTTP_SECONDS = Number(arg('--http-seconds', '4'));
const WORKERS = arg('--workers', '1,2').split(',').map(Number);
const SECTIONS = new Set(arg('--sections', 'session,scorer,raw,http').split(','));
const CPU_PROF = arg('--cpu-prof', '');
const THREADS = arg('--threads', '1');
const SPINNING = process.argv.includes('--spinning') ? ['--spinning'] : [];
const SERVE_CLI = arg('--serve-cli', new URL('../src/cli.ts', import.meta.url).pathname);


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
  console.log(`ESM2 default size (${encoders.schema.fields.length} fields, dim 16, towers 256-128-64), ${rows.length} synthetic rows; 2-core machine, load = 1-minute load average`);

  if (SECTIONS.has('session')) await benchSession(scoring, rows);
  if (SECTIONS.has('scorer')) await benchScorer(scoring, rows);
  if (SECTIONS.has('raw')) await benchRaw(model, encoders, scoring, rows, dir);
  if (SECTIONS.has('http')) for (const workers of WORKERS) await benchHttp(onnx, scoring, rows, workers);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Batch-1 latency on this thread: the session alone (feeds already encoded), and encoding + session. */
async function benchSession(model: ScoringModel, rows: Record<string, unknown>[]) {
  const source = model.source.kind === 'file' ? model.source.path : model.source.bytes;
  const session = await OnnxSession.load(source, { threads: 1 });
  console.log(`\nbatch-1 latency on one thread, no HTTP (1 intra-op thread), ${SECONDS}s per line`);
  console.log('path                          p50 ms   p99 ms  mean ms  load');
  const encoded = rows.slice(0, 1000).map((r) => encodeRows(model, [r]));
  const cases: [string, (k: number) => Promise<unknown>][] = [
    ['session.run (encoded feeds)', (k) => session.run(encoded[k % encoded.length]!, model.predictions)],
    ['encode + session.run', (k) => session.run(encodeRows(model, [rows[k % rows.length]!]), model.predictions)],
  ];
  for (const [name, once] of cases) {
    for (let k = 0; k < 200; k++) await once(k);
    const times: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000) {
      const t = performance.now();
      await once(times.length);
      times.push(performance.now() - t);
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    times.sort((a, b) => a - b);
    console.log(`${name.padEnd(28)}  ${pct(times, 50).toFixed(3).padStart(7)}  ${pct(times, 99).toFixed(3).padStart(7)}  ${mean.toFixed(3).padStart(7)}  ${load()}`);
  }
  await session.release();
}

/** Rows/s of the full scoring path (encode on this thread, score in one worker), one batch at a time. */
async function benchScorer(model: ScoringModel, rows: Record<string, unknown>[]) {
  console.log(`\nthrough the scorer (JSON rows → encoders → worker → onnxruntime), 1 worker, ${SECONDS}s per cell`);
  console.log('threads  spinning  batch   samples/s    ms/batch  load');
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
          `${String(threads).padStart(7)}  ${(spinning ? 'on' : 'off').padStart(8)}  ${String(batch).padStart(5)}  ${Math.round((runs * batch * 1000) / ms).toString().padStart(10)}  ${(ms / runs).toFixed(3).padStart(10)}  ${load()}`,
        );
      }
      await pool.close();
    }
  }
}

/** Rows/s of the raw-feature export against the id-input export, one thread, no HTTP. */
async function benchRaw(model: ReturnType<typeof buildModel>, encoders: Encoders, scoring: ScoringModel, rows: Record<string, unknown>[], dir: string) {
  console.log(`\nraw-feature ONNX (encoders in the graph) against the id-input ONNX, 1 intra-op thread on this thread, ${SECONDS}s per cell`);
  let encodings;
  try {
    encodings = rawFeatureEncodings(encoders);
    const raw = join(dir, 'esm2-raw.onnx');
    await exportArtifactToOnnx(artifactFromModel(model, encoders.schema, initWeights(model.graph, 1), { encoders: encoders.toJSON() }), raw, { rawFeatures: encodings });
    const source = scoring.source.kind === 'file' ? scoring.source.path : scoring.source.bytes;
    const [idSession, rawSession] = await Promise.all([OnnxSession.load(source, { threads: 1 }), OnnxSession.load(raw, { threads: 1 })]);
    console.log('batch  id from JSON  raw from JSON  id session only  raw session only  (rows/s)  load');
    for (const batch of [100, 4096]) {
      const slice = (k: number) => rows.slice((k * batch) % (rows.length - batch), ((k * batch) % (rows.length - batch)) + batch);
      const idFeeds = encodeRows(scoring, slice(0));
      const rawFeedsOnce = rawFeeds(encodings, slice(0));
      const cases: (() => Promise<unknown>)[] = [
        () => idSession.run(encodeRows(scoring, slice(1)), scoring.predictions),
        () => rawSession.run(rawFeeds(encodings!, slice(1)), scoring.predictions),
        () => idSession.run(idFeeds, scoring.predictions),
        () => rawSession.run(rawFeedsOnce, scoring.predictions),
      ];
      const rates: number[] = [];
      for (const once of cases) {
        for (let k = 0; k < 5; k++) await once();
        let runs = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < SECONDS * 1000) {
          await once();
          runs++;
        }
        rates.push((runs * batch * 1000) / (performance.now() - t0));
      }
      console.log(`${String(batch).padStart(5)}  ${rates.map((r, i) => Math.round(r).toString().padStart([12, 13, 15, 16][i]!)).join('  ')}            ${load()}`);
    }
    await Promise.all([idSession.release(), rawSession.release()]);
  } catch (err) {
    console.log(`skipped: ${(err as Error).message}`);
  }
}

/** Latency and throughput of POST /v1/score and POST /v2/models/{name}/infer with 100-row bodies, then batch-1 latency. */
async function benchHttp(onnx: string, model: ScoringModel, rows: Record<string, unknown>[], workers: number) {
  const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
  const server = await serve(SERVE_CLI, ['--model', onnx, '--port', '0', '--workers', String(workers), '--threads', THREADS, ...SPINNING], prof);
  const name = model.info.model.name;
  const specs = inputSpecs(model);
  const v1 = (some: Record<string, unknown>[]) => JSON.stringify({ rows: some });
  const v2 = (some: Record<string, unknown>[]) =>
    JSON.stringify({
      inputs: specs.map((s) => ({ name: s.name, shape: [some.length], datatype: s.datatype, data: some.map((r) => (s.datatype === 'FP32' ? r[s.column] : String(r[s.column]))) })),
    });
  const routes: [string, (some: Record<string, unknown>[]) => string][] = [
    ['/v1/score', v1],
    [`/v2/models/${name}/infer`, v2],
  ];
  console.log(`\nHTTP, esm2-score serve --workers ${workers} --threads ${THREADS}${SPINNING.length ? ' --spinning' : ''} (a child process: ${SERVE_CLI}) on ${server.url}, autocannon in this process, ${HTTP_SECONDS}s per level`);
  console.log('CPU µs/row: CPU time per scored row of the serve process (all threads) and of this process (autocannon); cores: both together per second of wall time');
  console.log('route                          rows  concurrency   p50 ms   p99 ms      req/s     rows/s   errors  mean rows/session run  server CPU µs/row  client CPU µs/row  cores  load');
  for (const [path, body] of routes) {
    const bodies = Array.from({ length: 16 }, (_, k) => body(rows.slice(k * 100, k * 100 + 100)));
    for (const connections of [1, 8, 32]) {
      const before = await batchStats(server.url);
      const cpu0 = { server: server.cpuSeconds(), client: process.cpuUsage(), wall: performance.now() };
      const result = await autocannon({
        url: `${server.url}${path}`,
        connections,
        duration: HTTP_SECONDS,
        requests: bodies.map((b) => ({ method: 'POST' as const, path, headers: { 'content-type': 'application/json' }, body: b })),
      });
      const serverCpu = server.cpuSeconds();
      const clientCpu = process.cpuUsage(cpu0.client);
      const wall = (performance.now() - cpu0.wall) / 1000;
      const after = await batchStats(server.url);
      const scored = result.requests.total * 100;
      const serverSeconds = serverCpu === undefined || cpu0.server === undefined ? undefined : serverCpu - cpu0.server;
      const clientSeconds = (clientCpu.user + clientCpu.system) / 1e6;
      const perRow = (seconds: number | undefined) => (seconds === undefined || scored === 0 ? '-' : ((seconds * 1e6) / scored).toFixed(1));
      const cores = serverSeconds === undefined ? '-' : ((serverSeconds + clientSeconds) / wall).toFixed(2);
      const meanBatch = (after.sum - before.sum) / Math.max(1, after.count - before.count);
      const bad = result.errors + result.timeouts + result.non2xx;
      console.log(
        `${path.padEnd(29)}  ${'100'.padStart(4)}  ${String(connections).padStart(11)}  ${result.latency.p50.toFixed(1).padStart(7)}  ${result.latency.p99.toFixed(1).padStart(7)}  ${Math.round(result.requests.average).toString().padStart(9)}  ${Math.round(result.requests.average * 100).toString().padStart(9)}  ${String(bad).padStart(7)}  ${meanBatch.toFixed(0).padStart(21)}  ${perRow(serverSeconds).padStart(17)}  ${perRow(clientSeconds).padStart(17)}  ${cores.padStart(5)}  ${load()}`,
      );
    }
  }
  // One request at a time with one row: the service's floor (autocannon reports whole milliseconds).
  console.log(`batch-1 through HTTP, one request at a time (keep-alive), ${HTTP_SECONDS}s per route`);
  console.log('route                          p50 ms   p99 ms  mean ms   errors  load');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const [path, body] of routes) {
    const bodies = rows.slice(0, 1000).map((r) => body([r]));
    const times: number[] = [];
    let errors = 0;
    const post = (b: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(b);
      });
    for (let k = 0; k < 200; k++) await post(bodies[k % bodies.length]!);
    const t0 = performance.now();
    while (performance.now() - t0 < HTTP_SECONDS * 1000) {
      const t = performance.now();
      if ((await post(bodies[times.length % bodies.length]!)) !== 200) errors++;
      times.push(performance.now() - t);
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    times.sort((a, b) => a - b);
    console.log(`${path.padEnd(29)}  ${pct(times, 50).toFixed(3).padStart(7)}  ${pct(times, 99).toFixed(3).padStart(7)}  ${mean.toFixed(3).padStart(7)}  ${String(errors).padStart(7)}  ${load()}`);
  }
  agent.destroy();
  await server.stop();
}

async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  // Summed over the series of every model version (and the unlabelled series of servers before versions).
  const num = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { sum: num('esm2_scorer_batch_rows_sum'), count: num('esm2_scorer_batch_rows_count') };
}
