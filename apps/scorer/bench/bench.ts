/**
 * The scorer's cost per scored row, against the model's own, on the
 * default-size ESM2 (9 categorical fields, a tag list and 2 numerics,
 * dim 16, towers 256-128-64) with encoders fitted on 20 000 synthetic rows.
 * One run prints, at 1, 100 and 1024 rows per request (or per run):
 *  session  OnnxSession.run alone on this thread (feeds encoded beforehand,
 *           1 intra-op thread): CPU µs/row (this process, all threads) and rows/s;
 *  worker   the worker path without HTTP: ScoringPool.answerBodies with /v1
 *           JSON bodies (parse, validate, encode, score, write the answer in
 *           1 worker; 2 tasks in flight): CPU µs/row of this process, rows/s;
 *  http     `esm2-score serve` (a child process, from sources under tsx), once
 *           per --workers value (default 2, then 0: worker threads, then
 *           scoring on the HTTP thread), under
 *           autocannon at concurrency 8: /v1 JSON, /v2 JSON and /v2 binary
 *           (the binary tensor data extension, binary outputs too): req/s,
 *           rows/s, p50/p99, serve CPU µs/row (all threads, /proc), client
 *           CPU µs/row, rows per session run (/metrics), and the ratio of the
 *           serve CPU to session.run's at (a) the same rows per run, measured
 *           right after the level, and (b) 1024 rows; then batch-1 latency
 *           one request at a time;
 *  batch    `esm2-score score` on a CSV (a child process under GNU time:
 *           every thread's CPU, read as it is reaped) at --batch-size 1, 100
 *           and 1024, less the same command on 1 row (its start-up), with the
 *           first non-zero --workers value (batch scoring has no inline mode);
 *  open     open loop, on each --workers value's serve process after its
 *           http levels: 100-row /v1 JSON and /v2 binary requests at a fixed
 *           rate (half the closed-loop capacity measured by http), sent by
 *           a generator in a child process of its own (open-loop-child.ts),
 *           latency from each request's scheduled instant;
 *  profile  a V8 CPU profile (--cpu-prof) of a separate serve process (the
 *           first non-zero --workers value) over one level (100-row /v1
 *           JSON, concurrency 8): where its CPU went, by category, in µs per
 *           scored row (bench/profile.ts);
 *  raw      (only when named in --sections) rows/s of the raw-feature ONNX
 *           (`export --raw-features`: the encoders inside the graph) against
 *           the id-input ONNX on this thread, from JSON rows and through the
 *           session alone, at batch 100 and 4096.
 * The last lines are a summary block. Every row of figures carries the
 * 1-minute load average: the machine is shared, so compare figures only
 * across runs made under the same load.
 *
 *   pnpm --filter @esm2/scorer bench [-- --seconds 2 --http-seconds 5 --open-seconds 10
 *       --sections session,worker,http,batch,open,profile --workers 2,0 --threads 1 --spinning
 *       --cpu-prof DIR --serve-cli FILE --id-type int64]
 * --workers takes a comma list (default 2,0): the http and open sections run
 * once per value, each on its own serve process, their tables and summary
 * lines labelled with it ("--workers 2 (worker threads)", "--workers 0 (on
 * the HTTP thread)"); batch and profile take the first non-zero value (a
 * --serve-cli copy from before --workers 0 needs --workers 2);
 * --threads and --spinning set the serve (and batch) command's sessions;
 * --cpu-prof DIR writes a V8 CPU profile of every serve process into DIR (the figures then carry the profiler's cost);
 * --serve-cli FILE serves and batch-scores with another copy of src/cli.ts
 * (say, an older commit's, to compare before/after under the same load), and
 * the worker section takes that copy's scorer modules (pool, model, limits);
 * --id-type int64 exports the bench model with int64 id inputs (what versions
 * before int32 ids serve), else with the export's default (int32).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OnnxSession, exportArtifactToOnnx } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { fitEncoders, rawFeatureEncodings, rawFeeds, writeSynthetic, type Encoders } from '@esm2/data';
import autocannon from 'autocannon';
import { loadScoringModel, type ScoringModel } from '../src/model.js';
import { encodeBytesTensor, encodeFp32Tensor, inputSpecs } from '../src/open-inference.js';
import type { RawRequest } from '../src/prepare.js';
import { encodeRows } from '../src/request.js';
import { csvRows, requestRows } from '../src/test-support/rows.js';
import { profileReport } from './profile.js';
import { batchStats, hasGnuTime, load, monotonicMicros, openLoopInChild, pct, post, procThreadCpuSeconds, selfCpuSeconds, serve, timedRun, type Server, type TimedRun } from './support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SECONDS = Number(arg('--seconds', '2'));
const HTTP_SECONDS = Number(arg('--http-seconds', '5'));
const OPEN_SECONDS = Number(arg('--open-seconds', '10'));
/** The serve modes: one serve process per value for the http and open sections. */
const WORKERS = arg('--workers', '2,0')
  .split(',')
  .map((w) => {
    if (!/^\d+$/.test(w.trim())) throw new Error(`--workers: '${w}' is not a whole number (a comma list, e.g. 2,0)`);
    return Number(w);
  });
if (new Set(WORKERS).size !== WORKERS.length) throw new Error(`--workers: '${WORKERS.join(',')}' names a value twice`);
/** Batch scoring and the profile: the first non-zero value (batch scoring has no inline mode; 2 when every value is 0). */
const POOL_WORKERS = WORKERS.find((w) => w > 0) ?? 2;
const SECTIONS = new Set(arg('--sections', 'session,worker,http,batch,open,profile').split(','));
const CPU_PROF = arg('--cpu-prof', '');
const THREADS = arg('--threads', '1');
const SPINNING = process.argv.includes('--spinning') ? ['--spinning'] : [];
const SERVE_CLI = arg('--serve-cli', new URL('../src/cli.ts', import.meta.url).pathname);
const ID_TYPE = arg('--id-type', '') as 'int32' | 'int64' | '';
const SIZES = [1, 100, 1024];
const CONNECTIONS = 8;
const BODIES = 16;
const SESSION_W = [6, 11, 10, 7, 7];

for (const s of SECTIONS) if (!['session', 'worker', 'http', 'batch', 'open', 'profile', 'raw'].includes(s)) throw new Error(`--sections: unknown section '${s}' (session, worker, http, batch, open, profile, raw)`);
if (!['', 'int32', 'int64'].includes(ID_TYPE)) throw new Error(`--id-type: '${ID_TYPE}' is not int32 or int64`);

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const split = (t: { main: number; workers: number; rest: number } | undefined) => (t ? `${f1(t.main)}/${f1(t.workers)}/${f1(t.rest)}` : '-');
/** A serve mode's label in tables and the summary. */
const mode = (workers: number) => `--workers ${workers} (${workers === 0 ? 'on the HTTP thread' : 'worker threads'})`;
const int = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : Math.round(x).toString());
/** A table row: each cell right-aligned to its column's width (the first left-aligned), then the load average. */
const row = (widths: number[], cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + `  ${load()}`;
const header = (widths: number[], names: string[]) => names.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '   load';

/** What the summary block needs, filled in by the sections that ran. */
const found = {
  session: new Map<number, number>(),
  /** Keyed by `${workers} ${route} ${rows}`. */
  http: new Map<string, HttpLevel>(),
  /** Keyed by `${workers} ${route}`. */
  batch1: new Map<string, { workers: number; route: string; p50: number; p99: number }>(),
  batch: new Map<number, { cpuUs: number; rowsPerSec: number }>(),
  worker: new Map<number, { cpuUs: number; rowsPerSec: number }>(),
  /** Keyed by `${workers} ${route}`. */
  open: new Map<string, { workers: number; route: string; rate: number; achieved: number; p50: number; p99: number; max: number; errors: number }>(),
};
interface HttpLevel {
  reqPerSec: number;
  serverUs?: number;
  meanRows: number;
  refUs?: number;
  ratioSame?: number;
  ratio1024?: number;
}

const started = performance.now();
const dir = await mkdtemp(join(tmpdir(), 'esm2-scorer-bench-'));
let session: OnnxSession | undefined;
try {
  const csv = join(dir, 'data.csv');
  const data = await writeSynthetic(csv, { rows: 20_000, seed: 5 });
  const encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });
  const graph = buildModel(encoders.schema, {});
  const onnx = join(dir, 'esm2.onnx');
  await exportArtifactToOnnx(artifactFromModel(graph, encoders.schema, initWeights(graph.graph, 1), { encoders: encoders.toJSON() }), onnx, ID_TYPE ? { idType: ID_TYPE } : {});
  const model = await loadScoringModel(onnx);
  const rows = requestRows(csvRows(csv));
  session = await OnnxSession.load(onnx, { threads: 1 });
  const la = loadavg();
  console.log(`scorer bench ${new Date().toISOString()}: ESM2 default size (${encoders.schema.fields.length} fields, dim 16, towers 256-128-64), ${rows.length} synthetic rows`);
  console.log(`id inputs: ${ID_TYPE ? `${ID_TYPE} (--id-type)` : "int32 (the export's default)"}; serve and score: ${SERVE_CLI} from sources under tsx (node --import tsx), serve --workers ${WORKERS.join(',')} (http and open: one serve process each), score and profile --workers ${POOL_WORKERS}; --threads ${THREADS}${SPINNING.length ? ' --spinning' : ''}`);
  console.log(`${availableParallelism()} cores; load average ${la.map((x) => x.toFixed(2)).join(' ')} (every row ends with the 1-minute load average)${CPU_PROF ? `; --cpu-prof: every serve process is profiled (figures include the profiler's cost)` : ''}`);

  const reference = (batch: number) => sessionCost(session!, model, rows, batch, SECONDS);
  if (SECTIONS.has('session')) {
    console.log(`\nsession.run alone (OnnxSession.run on this thread, feeds encoded beforehand, 1 intra-op thread), ${SECONDS}s per line; CPU: this process, all threads`);
    console.log(header(SESSION_W, ['batch', 'CPU µs/row', 'rows/s', 'p50 ms', 'p99 ms']));
    for (const batch of SIZES) {
      const r = await reference(batch);
      found.session.set(batch, r.cpuUs);
      console.log(row(SESSION_W, [String(batch), f2(r.cpuUs), int(r.rowsPerSec), f3(r.p50), f3(r.p99)]));
    }
  }
  if (SECTIONS.has('worker')) await benchWorker(onnx, rows);
  const v1Json = (some: Record<string, unknown>[]) => jsonBody({ rows: some });
  const routes = routeBodies(model);
  if (SECTIONS.has('http') || SECTIONS.has('open')) {
    for (const workers of WORKERS) {
      // One serve process for both: the open loop runs on the process the closed loop warmed and measured.
      const server = await startServer(onnx, workers);
      try {
        if (SECTIONS.has('http')) await benchHttp(server, workers, rows, routes, reference);
        if (SECTIONS.has('open')) await benchOpen(server, workers, rows, routes);
      } finally {
        await server.stop();
      }
    }
  }
  if (SECTIONS.has('batch')) await benchBatch(onnx, csv, dir);
  if (SECTIONS.has('profile')) await benchProfile(onnx, rows, v1Json, dir);
  if (SECTIONS.has('raw')) await benchRaw(graph, encoders, model, rows, dir);
  summary();
} finally {
  await session?.release();
  await rm(dir, { recursive: true, force: true });
}

function jsonBody(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

interface Route {
  name: string;
  path: string;
  headers: (body: Uint8Array & { headerLength?: number }) => Record<string, string>;
  body: (some: Record<string, unknown>[]) => Uint8Array & { headerLength?: number };
}

/** The three ways to ask for scores: /v1 JSON rows, /v2 JSON tensors, /v2 binary tensors (binary outputs too). */
function routeBodies(model: ScoringModel): Route[] {
  const specs = inputSpecs(model);
  const v2 = `/v2/models/${model.info.model.name}/infer`;
  const json = { 'content-type': 'application/json' };
  const column = (some: Record<string, unknown>[], s: (typeof specs)[number]) => some.map((r) => r[s.column]);
  return [
    { name: '/v1 JSON', path: '/v1/score', headers: () => json, body: (some) => jsonBody({ rows: some }) },
    {
      name: '/v2 JSON',
      path: v2,
      headers: () => json,
      body: (some) =>
        jsonBody({ inputs: specs.map((s) => ({ name: s.name, shape: [some.length], datatype: s.datatype, data: s.datatype === 'FP32' ? column(some, s) : column(some, s).map(String) })) }),
    },
    {
      name: '/v2 binary',
      path: v2,
      headers: (b) => ({ 'content-type': 'application/octet-stream', 'inference-header-content-length': String(b.headerLength) }),
      body: (some) => {
        const tensors = specs.map((s) => (s.datatype === 'FP32' ? encodeFp32Tensor(column(some, s) as number[]) : encodeBytesTensor(column(some, s).map(String))));
        const inputs = specs.map((s, k) => ({ name: s.name, shape: [some.length], datatype: s.datatype, parameters: { binary_data_size: tensors[k]!.length } }));
        const head = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
        return Object.assign(Buffer.concat([head, ...tensors]), { headerLength: head.length });
      },
    },
  ];
}

/** `BODIES` distinct bodies of `size` rows each. */
function bodiesOf(route: Route, rows: Record<string, unknown>[], size: number) {
  return Array.from({ length: BODIES }, (_, k) => route.body(rows.slice((k * size) % (rows.length - size), ((k * size) % (rows.length - size)) + size)));
}

/** OnnxSession.run at `batch` rows for `seconds`: CPU µs per row (this process, all threads; the median of five slices), rows/s, per-run p50/p99. */
async function sessionCost(session: OnnxSession, model: ScoringModel, rows: Record<string, unknown>[], batch: number, seconds: number) {
  const feeds = Array.from({ length: 8 }, (_, k) => encodeRows(model, rows.slice((k * batch) % (rows.length - batch), ((k * batch) % (rows.length - batch)) + batch)));
  const warm = Math.max(5, Math.ceil(2000 / batch));
  for (let k = 0; k < warm; k++) await session.run(feeds[k % feeds.length]!, model.predictions);
  // Five slices, and the median slice's CPU per row: one slice with a burst of other work on the machine
  // (or this process's own GC) would otherwise move the reference the ratios divide by.
  const times: number[] = [];
  const perSlice: number[] = [];
  const t0 = performance.now();
  for (let slice = 0; slice < 5; slice++) {
    const cpu0 = selfCpuSeconds();
    const s0 = performance.now();
    let runs = 0;
    while (performance.now() - s0 < (seconds * 1000) / 5) {
      const t = performance.now();
      await session.run(feeds[times.length % feeds.length]!, model.predictions);
      times.push(performance.now() - t);
      runs++;
    }
    perSlice.push(((selfCpuSeconds() - cpu0) * 1e6) / (runs * batch));
  }
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  perSlice.sort((a, b) => a - b);
  const scored = times.length * batch;
  return { cpuUs: perSlice[2]!, rowsPerSec: scored / wall, p50: pct(times, 50), p99: pct(times, 99) };
}

/**
 * ScoringPool.answerBodies with /v1 JSON bodies in one worker, no HTTP: CPU
 * µs/row of this process (all threads), rows/s. The scorer's modules are
 * those next to --serve-cli (this checkout's by default), so a before/after
 * comparison measures the same code here as through HTTP.
 */
async function benchWorker(onnx: string, rows: Record<string, unknown>[]) {
  const from = (file: string) => pathToFileURL(join(dirname(SERVE_CLI), file)).href;
  const { ScoringPool } = (await import(from('pool.ts'))) as typeof import('../src/pool.js');
  const { loadScoringModel: loadModel } = (await import(from('model.ts'))) as typeof import('../src/model.js');
  const { DEFAULT_LIMITS } = (await import(from('service/limits.ts'))) as typeof import('../src/service/limits.js');
  const model = await loadModel(onnx);
  const W = [6, 11, 10, 9, 9];
  console.log(`\nthe worker path without HTTP (the scorer's modules next to ${SERVE_CLI}): ScoringPool({ model, workers: 1, threads ${THREADS} }).answerBodies(one /v1 JSON body, maxBatchRows ${DEFAULT_LIMITS.maxBatchRows}), 2 tasks in flight, ${SECONDS}s per line; CPU: this process, all threads`);
  console.log(header(W, ['rows', 'CPU µs/row', 'rows/s', 'req/s', 'ratio(a)']));
  const pool = new ScoringPool(model.source, { workers: 1, session: { threads: Number(THREADS), spinning: SPINNING.length > 0 }, model });
  try {
    await pool.warmUp(model);
    for (const size of SIZES) {
      const bodies = bodiesOf(routeBodies(model)[0]!, rows, size);
      // A fresh copy per task, as a request's body would be (the pool may transfer its buffer).
      const request = (k: number): RawRequest => ({ route: 'v1', body: new Uint8Array(bodies[k % bodies.length]!), maxRows: DEFAULT_LIMITS.maxRows });
      const first = await pool.answerBodies([request(0)], DEFAULT_LIMITS.maxBatchRows);
      const refused = first.outcomes.find((o) => !o.ok);
      if (refused) throw new Error(`the worker refused a bench body: ${JSON.stringify(refused)}`);
      for (let k = 0; k < Math.max(5, Math.ceil(2000 / size)); k++) await pool.answerBodies([request(k)], DEFAULT_LIMITS.maxBatchRows);
      let sent = 0;
      let done = 0;
      const cpu0 = selfCpuSeconds();
      const t0 = performance.now();
      const loop = async () => {
        while (performance.now() - t0 < SECONDS * 1000) {
          await pool.answerBodies([request(sent++)], DEFAULT_LIMITS.maxBatchRows);
          done++;
        }
      };
      await Promise.all([loop(), loop()]);
      const wall = (performance.now() - t0) / 1000;
      const cpuUs = ((selfCpuSeconds() - cpu0) * 1e6) / (done * size);
      const ref = found.session.get(size);
      found.worker.set(size, { cpuUs, rowsPerSec: (done * size) / wall });
      console.log(row(W, [String(size), f2(cpuUs), int((done * size) / wall), int(done / wall), ref ? `${f2(cpuUs / ref)}×` : '-']));
    }
  } finally {
    await pool.close();
  }
  console.log('ratio(a): CPU µs/row ÷ session.run\'s at the same rows per run (the session table; the worker path scores each request in one run)');
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

async function startServer(onnx: string, workers: number, profileDir?: string): Promise<Server> {
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
  return serve(SERVE_CLI, ['--model', onnx, '--port', '0', '--workers', String(workers), '--threads', THREADS, ...SPINNING], prof);
}

/** Checks that a route answers a body 200 (a bench of refusals would measure nothing). */
async function check(server: Server, route: Route, body: Uint8Array & { headerLength?: number }) {
  const agent = new Agent({ keepAlive: false });
  const status = await post(agent, `${server.url}${route.path}`, body, route.headers(body));
  agent.destroy();
  if (status !== 200) throw new Error(`${route.name} answered ${status} to a bench body`);
}

interface Level {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  scored: number;
  serverUs?: number;
  clientUs: number;
  meanRows: number;
  cores?: number;
  window: [number, number];
  /** CPU seconds of each serve thread over the level (thread id → seconds; empty without /proc). */
  threadCpu: Map<number, number>;
}

/**
 * A level's serve CPU per scored row by thread: the main (HTTP) thread is
 * the process's own id; the scoring workers, the busiest `workers` of the
 * others (onnxruntime runs on them; none at --workers 0, where it runs on the
 * main thread); the rest V8's and libuv's helpers.
 */
function threadSplit(level: Level, server: Server, workers: number): { main: number; workers: number; rest: number } | undefined {
  if (level.threadCpu.size === 0) return undefined;
  const perRow = (seconds: number) => (seconds * 1e6) / level.scored;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const others = [...level.threadCpu].filter(([tid]) => tid !== server.child.pid).map(([, seconds]) => seconds).sort((a, b) => b - a);
  return { main: perRow(level.threadCpu.get(server.child.pid!) ?? 0), workers: perRow(sum(others.slice(0, workers))), rest: perRow(sum(others.slice(workers))) };
}

/** One closed-loop level: `CONNECTIONS` autocannon connections sending `bodies` in turn for `seconds`. */
async function closedLoop(server: Server, route: Route, bodies: (Uint8Array & { headerLength?: number })[], size: number, seconds: number): Promise<Level> {
  const before = await batchStats(server.url);
  const threads0 = procThreadCpuSeconds(server.child.pid);
  const cpu0 = { server: server.cpuSeconds(), client: selfCpuSeconds(), wall: performance.now(), mono: monotonicMicros() };
  const result = await autocannon({
    url: `${server.url}${route.path}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: bodies.map((b) => ({ method: 'POST' as const, path: route.path, headers: route.headers(b), body: Buffer.from(b.buffer, b.byteOffset, b.byteLength) })),
  });
  const serverCpu = server.cpuSeconds();
  const clientCpu = selfCpuSeconds() - cpu0.client;
  const mono = monotonicMicros();
  const threadCpu = new Map([...procThreadCpuSeconds(server.child.pid)].map(([tid, seconds]) => [tid, seconds - (threads0.get(tid) ?? 0)]));
  const wall = (performance.now() - cpu0.wall) / 1000;
  const after = await batchStats(server.url);
  const scored = result.requests.total * size;
  const serverSeconds = serverCpu === undefined || cpu0.server === undefined ? undefined : serverCpu - cpu0.server;
  return {
    reqPerSec: result.requests.total / wall,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    scored,
    ...(serverSeconds !== undefined ? { serverUs: (serverSeconds * 1e6) / scored, cores: (serverSeconds + clientCpu) / wall } : {}),
    clientUs: (clientCpu * 1e6) / scored,
    meanRows: (after.sum - before.sum) / Math.max(1, after.count - before.count),
    window: [cpu0.mono, mono],
    threadCpu,
  };
}

/** /v1 JSON, /v2 JSON and /v2 binary at 1, 100 and 1024 rows per request, concurrency 8; then batch-1 latency one request at a time. */
async function benchHttp(server: Server, workers: number, rows: Record<string, unknown>[], routes: Route[], reference: (batch: number) => ReturnType<typeof sessionCost>) {
  const W = [10, 5, 8, 8, 8, 7, 7, 6, 12, 16, 13, 10, 11, 9, 9];
  console.log(`\nHTTP, ${mode(workers)}: esm2-score serve --workers ${workers} --threads ${THREADS}${SPINNING.length ? ' --spinning' : ''} (a child process) on ${server.url}, autocannon in this process, concurrency ${CONNECTIONS}, ${HTTP_SECONDS}s per level`);
  console.log(
    'serve/client CPU: CPU µs per scored row of the serve process (all threads, /proc) and of this process (autocannon); main/wrk/oth: the serve CPU of its main (HTTP) thread, its workers (none at --workers 0) and its other threads (/proc/PID/task); cores: both processes per wall second; rows/run: mean rows per session run (/metrics)',
  );
  console.log("ratio(a): serve CPU ÷ session.run's CPU µs/row at the level's rows per run (ref, measured right after the level); ratio(b): ÷ session.run's at 1024 rows");
  console.log(header(W, ['route', 'rows', 'req/s', 'rows/s', 'p50 ms', 'p99 ms', 'errors', 'cores', 'serve µs/row', 'main/wrk/oth', 'client µs/row', 'rows/run', 'ref µs/row', 'ratio(a)', 'ratio(b)']));
  const at1024 = found.session.get(1024) ?? (await reference(1024)).cpuUs;
  found.session.set(1024, at1024);
  for (const route of routes) {
    for (const size of SIZES) {
      const bodies = bodiesOf(route, rows, size);
      await check(server, route, bodies[0]!);
      // A warm-up at the same load: the first seconds of a fresh process (JIT, with V8 still compiling on its own threads; heap growth) are not its steady state.
      await closedLoop(server, route, bodies, size, 2);
      const level = await closedLoop(server, route, bodies, size, HTTP_SECONDS);
      const batch = Math.max(1, Math.round(level.meanRows));
      const ref = (await reference(batch)).cpuUs;
      const ratioSame = level.serverUs === undefined ? undefined : level.serverUs / ref;
      const ratio1024 = level.serverUs === undefined ? undefined : level.serverUs / at1024;
      found.http.set(`${workers} ${route.name} ${size}`, { reqPerSec: level.reqPerSec, meanRows: level.meanRows, refUs: ref, ...(level.serverUs !== undefined ? { serverUs: level.serverUs } : {}), ...(ratioSame !== undefined ? { ratioSame } : {}), ...(ratio1024 !== undefined ? { ratio1024 } : {}) });
      console.log(
        row(W, [
          route.name,
          String(size),
          int(level.reqPerSec),
          int(level.reqPerSec * size),
          f1(level.p50),
          f1(level.p99),
          String(level.errors),
          f2(level.cores),
          f2(level.serverUs),
          split(threadSplit(level, server, workers)),
          f2(level.clientUs),
          f1(level.meanRows),
          f2(ref),
          ratioSame === undefined ? '-' : `${f2(ratioSame)}×`,
          ratio1024 === undefined ? '-' : `${f2(ratio1024)}×`,
        ]),
      );
    }
  }
  // One request at a time with one row: the service's floor.
  const B = [10, 7, 7, 7, 6];
  console.log(`batch-1 through HTTP, ${mode(workers)}, one request at a time (keep-alive), ${HTTP_SECONDS}s per route`);
  console.log(header(B, ['route', 'p50 ms', 'p99 ms', 'mean ms', 'errors']));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (const route of routes) {
    const bodies = rows.slice(0, 1000).map((r) => route.body([r]));
    const send = (k: number) => post(agent, `${server.url}${route.path}`, bodies[k % bodies.length]!, route.headers(bodies[k % bodies.length]!));
    // Warm-up by time, not a count: V8's background compilers are still busy after a few hundred requests
    // (hundreds of CPU µs a request on their threads), and a few thousand are needed before they settle.
    const w0 = performance.now();
    for (let k = 0; k < 200 || performance.now() - w0 < 2000; k++) await send(k);
    const times: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < HTTP_SECONDS * 1000) {
      const t = performance.now();
      if ((await send(times.length)) !== 200) errors++;
      times.push(performance.now() - t);
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    times.sort((a, b) => a - b);
    found.batch1.set(`${workers} ${route.name}`, { workers, route: route.name, p50: pct(times, 50), p99: pct(times, 99) });
    console.log(row(B, [route.name, f3(pct(times, 50)), f3(pct(times, 99)), f3(mean), String(errors)]));
  }
  agent.destroy();
}

/**
 * `esm2-score score` on `rows` rows of a CSV at each batch size, under GNU
 * time (the child's rusage at exit: every thread); less the same command on
 * 1 row (its start-up: node, tsx, modules, the model, the workers).
 */
async function benchBatch(onnx: string, csv: string, dir: string) {
  const W = [10, 7, 7, 7, 11, 11, 11, 10];
  const scored = 200_000;
  const FEW = 3_000;
  console.log(`\nbatch file scoring: esm2-score score --model M --data CSV --out OUT.csv --batch-size N --workers ${POOL_WORKERS} --threads ${THREADS} (a child process); CPU: the child's, all threads (GNU time: its rusage at exit)`);
  if (!hasGnuTime()) {
    console.log('skipped: /usr/bin/time (Debian package "time") is not installed');
    return;
  }
  console.log("start-up: the same command on 1 row, run twice (their mean subtracted from the CPU); CPU µs/row: of the rows past the first; rows/s: the command's own figure (its clock starts once the model is loaded and the worker pool created)");
  console.log(header(W, ['batch-size', 'rows', 'wall s', 'CPU s', 'start CPU s', 'start wall', 'CPU µs/row', 'rows/s']));
  const [head, ...lines] = (await readFile(csv, 'utf8')).trimEnd().split('\n');
  const file = async (n: number) => {
    const path = join(dir, `score-${n}.csv`);
    const out: string[] = [head!];
    for (let k = 0; out.length <= n; k++) out.push(lines[k % lines.length]!);
    await writeFile(path, `${out.join('\n')}\n`);
    return path;
  };
  const one = await file(1);
  const many = await file(scored);
  const few = await file(FEW);
  const run = async (data: string, batch: number) => {
    const r = await timedRun([process.execPath, '--import', 'tsx', SERVE_CLI, 'score', '--model', onnx, '--data', data, '--out', join(dir, 'out.csv'), '--batch-size', String(batch), '--workers', String(POOL_WORKERS), '--threads', THREADS, ...SPINNING, '--no-progress']);
    if (r.code !== 0) throw new Error(`esm2-score score exited with ${r.code}: ${r.stderr}`);
    return r;
  };
  // Start-up is the same whatever the batch size: measured twice, the mean subtracted (both printed: their spread is the figures' noise).
  const starts = [await run(one, 1), await run(one, 1)];
  const start = { cpu: (starts[0]!.cpu + starts[1]!.cpu) / 2, wall: (starts[0]!.wall + starts[1]!.wall) / 2 };
  const spread = (pick: (r: TimedRun) => number) => starts.map((r) => f2(pick(r))).join('/');
  for (const batch of SIZES) {
    // Batch 1 runs a session per row (~0.3 ms each through the CLI): fewer rows.
    const n = batch === 1 ? FEW : scored;
    const full = await run(batch === 1 ? few : many, batch);
    const cpuUs = ((full.cpu - start.cpu) * 1e6) / (n - 1);
    // Rows/s as the command prints it (its clock starts once the model is loaded): the start-up's wall time varies too much under load to subtract.
    const said = /scored (\d+) rows in [\d.]+ s \((\d+) rows\/s\)/.exec(full.stdout);
    if (said && Number(said[1]) !== n) throw new Error(`esm2-score score scored ${said[1]} rows of ${n}`);
    const rowsPerSec = said ? Number(said[2]) : (n - 1) / (full.wall - start.wall);
    found.batch.set(batch, { cpuUs, rowsPerSec });
    console.log(row(W, [String(batch), String(n), f2(full.wall), f2(full.cpu), spread((r) => r.cpu), spread((r) => r.wall), f2(cpuUs), int(rowsPerSec)]));
  }
}

/** Open loop at half the closed-loop capacity: 100-row /v1 JSON and /v2 binary. */
async function benchOpen(server: Server, workers: number, rows: Record<string, unknown>[], routes: Route[]) {
  const size = 100;
  const W = [10, 5, 9, 9, 10, 6, 7, 7, 7, 6, 8, 5, 12, 13];
  console.log(
    `\nopen loop, ${mode(workers)}: ${size}-row requests at a fixed rate, half the closed-loop capacity at concurrency ${CONNECTIONS} (the http table's req/s), ${OPEN_SECONDS}s each, from a generator in a process of its own (bench/open-loop-child.ts: a fresh heap, so this process's GC delays nothing; client µs/row is its CPU); node:http keep-alive sockets opened as needed (a send never waits for one); latency from each request's scheduled instant`,
  );
  console.log("capacity now: the same closed loop for 2s just before (context only: the machine's load moves)");
  console.log(header(W, ['route', 'rows', 'offered/s', 'achieved/s', 'capacity now', 'sent', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'sockets', 'late', 'serve µs/row', 'client µs/row']));
  for (const route of routes.filter((r) => r.name === '/v1 JSON' || r.name === '/v2 binary')) {
    const bodies = bodiesOf(route, rows, size);
    await check(server, route, bodies[0]!);
    const now = (await closedLoop(server, route, bodies, size, 2)).reqPerSec;
    const capacity = found.http.get(`${workers} ${route.name} ${size}`)?.reqPerSec ?? now;
    const rate = capacity / 2;
    const cpu0 = server.cpuSeconds();
    const { result: r, cpuSeconds: clientCpu } = await openLoopInChild(`${server.url}${route.path}`, bodies, route.headers(bodies[0]!), rate, OPEN_SECONDS);
    const cpu = server.cpuSeconds();
    const clientUs = (clientCpu * 1e6) / (r.latencies.length * size);
    const serveUs = cpu === undefined || cpu0 === undefined ? undefined : ((cpu - cpu0) * 1e6) / (r.latencies.length * size);
    const p50 = pct(r.latencies, 50);
    const p99 = pct(r.latencies, 99);
    const max = r.latencies.at(-1)!;
    found.open.set(`${workers} ${route.name}`, { workers, route: route.name, rate, achieved: r.achieved, p50, p99, max, errors: r.errors });
    console.log(row(W, [route.name, String(size), f1(rate), f1(r.achieved), f1(now), String(r.sent), f2(p50), f2(p99), f2(max), String(r.errors), String(r.maxInFlight), String(r.late), f2(serveUs), f2(clientUs)]));
  }
  console.log('sockets: most requests in flight at once; late: sends that left more than 1 ms after their scheduled instant (this generator behind; the delay counts in their latency)');
}

/** A CPU profile of a separate serve process over one level (100-row /v1 JSON, concurrency 8), read by profile.ts. */
async function benchProfile(onnx: string, rows: Record<string, unknown>[], v1Json: (some: Record<string, unknown>[]) => Uint8Array, dir: string) {
  const size = 100;
  // Into --cpu-prof DIR when given (kept), else a temporary directory; only this process's files are read.
  const profiles = CPU_PROF || join(dir, 'profiles');
  await mkdir(profiles, { recursive: true });
  const earlier = new Set(await readdir(profiles));
  const server = await startServer(onnx, POOL_WORKERS, profiles);
  const route: Route = { name: '/v1 JSON', path: '/v1/score', headers: () => ({ 'content-type': 'application/json' }), body: v1Json };
  let level: Level;
  try {
    const bodies = bodiesOf(route, rows, size);
    await check(server, route, bodies[0]!);
    await closedLoop(server, route, bodies, size, 1);
    level = await closedLoop(server, route, bodies, size, HTTP_SECONDS);
  } finally {
    // The profiles are written as the process and its worker threads exit.
    await server.stop();
  }
  const files = (await readdir(profiles)).filter((f) => f.endsWith('.cpuprofile') && !earlier.has(f)).map((f) => join(profiles, f));
  console.log(`\nprofile: V8 CPU profile (--cpu-prof) of a separate serve process (--workers ${POOL_WORKERS} --threads ${THREADS}) over one level: ${size}-row /v1 JSON at concurrency ${CONNECTIONS}, ${HTTP_SECONDS}s, ${files.length} profile(s) (main and worker threads)`);
  console.log(`the profiler slows the process: these figures are not the un-profiled ones above. Level: ${int(level.reqPerSec * size)} rows/s, p50 ${f1(level.p50)} ms, p99 ${f1(level.p99)} ms, serve CPU ${f2(level.serverUs)} µs/row  load ${load()}`);
  console.log(await profileReport(files, { window: level.window, cpuUsPerRow: level.serverUs, threads: threadSplit(level, server, POOL_WORKERS), rows: level.scored, load: load() }));
}

function summary() {
  const la = loadavg().map((x) => x.toFixed(2)).join(' ');
  const lines: string[] = [];
  const s = (b: number) => f2(found.session.get(b));
  lines.push(`summary (scorer bench, ${new Date().toISOString().slice(0, 16)}Z, ${((performance.now() - started) / 60_000).toFixed(1)} min${ID_TYPE ? `, --id-type ${ID_TYPE}` : ''}${CPU_PROF ? ', profiled' : ''})`);
  lines.push(`session.run CPU µs/row: batch 1 ${s(1)}, 100 ${s(100)}, 1024 ${s(1024)}`);
  // The issue's goals (issue 24's "must show"), named beside the figures they judge.
  const goal: Record<string, string> = { '/v1 JSON': ' (goal ≤ 1.5×)', '/v2 binary': ' (goal ≤ 1.25×)' };
  for (const workers of WORKERS) {
    for (const name of ['/v1 JSON', '/v2 JSON', '/v2 binary']) {
      const h = found.http.get(`${workers} ${name} 100`);
      if (!h) continue;
      lines.push(
        `${name} 100-row, concurrency ${CONNECTIONS}, --workers ${workers}: serve ${f2(h.serverUs)} CPU µs/row, ${int(h.reqPerSec * 100)} rows/s; ratio ${f2(h.ratioSame)}×${goal[name] ?? ''} session.run at its ${f1(h.meanRows)} rows/run (${f2(h.refUs)} µs/row), ${f2(h.ratio1024)}× at 1024`,
      );
    }
  }
  const per = (m: Map<number, { cpuUs: number; rowsPerSec: number }>) => SIZES.filter((b) => m.has(b)).map((b) => `${b} ${f2(m.get(b)!.cpuUs)} (${int(m.get(b)!.rowsPerSec)} rows/s)`).join(', ');
  if (found.worker.size > 0) lines.push(`worker path without HTTP (1 worker), CPU µs/row at request rows: ${per(found.worker)}`);
  if (found.batch.size > 0) lines.push(`esm2-score score --workers ${POOL_WORKERS}, CPU µs/row at --batch-size: ${per(found.batch)}`);
  for (const workers of WORKERS) {
    const b1 = [...found.batch1.values()].filter((b) => b.workers === workers);
    if (b1.length > 0) lines.push(`batch-1 p50/p99 ms, --workers ${workers} (goal p50 < 1 ms): ${b1.map((b) => `${b.route} ${f3(b.p50)}/${f3(b.p99)}`).join(', ')}`);
  }
  for (const o of found.open.values()) {
    lines.push(`open loop ${o.route} 100-row, --workers ${o.workers}, at ${f1(o.rate)} req/s (achieved ${f1(o.achieved)}): p50 ${f2(o.p50)} ms, p99 ${f2(o.p99)} ms (goal < 5 ms), max ${f2(o.max)} ms, errors ${o.errors}`);
  }
  lines.push(`load average at the end: ${la}`);
  const width = Math.max(...lines.map((l) => l.length));
  console.log(`\n${'─'.repeat(width)}\n${lines.join('\n')}`);
}
