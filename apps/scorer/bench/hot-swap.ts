/**
 * Hot swap under load: `esm2-score serve --model-repository DIR` (a child
 * process) answers 100-row POST /v1/score requests at concurrency 8 on
 * 127.0.0.1 for 30 s while three new versions of a default-size ESM2 (12
 * fields, dim 16, towers 256-128-64, encoders fitted on 20 000 synthetic
 * rows, each version a different initialisation) arrive: the first found by
 * polling (--poll-seconds), the other two loaded through POST
 * /v2/repository/models/esm2/load. A version is copied in as a whole (a
 * directory renamed into place, as `export --triton` writes one). Prints:
 *  - requests, failures (errors and non-2xx);
 *  - p50/p99 latency in the steady state and during the swaps (a window from
 *    the copy to one second after the old version is closed), after
 *    --warmup seconds of the same load that are not counted;
 *  - per version: its answers against batch scoring (scoreFile) of that
 *    version on the same rows;
 *  - the serve process's RSS in the steady state, and after each old
 *    version was unloaded (its workers gone).
 *
 * On a loaded machine a swap can take longer than the planned interval; the
 * run then lasts longer than --seconds, as a swap starts no sooner than
 * --settle seconds after the previous one ended.
 *
 *   cd apps/scorer && pnpm exec tsx bench/hot-swap.ts [--seconds 30 --concurrency 8 --swaps 3 --workers 2 --poll-seconds 1 --settle 4 --warmup 15]
 */
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitEncoders, writeSynthetic } from '@esm2/data';
import { scoreFile } from '../src/batch-score.js';
import { LocalScorer } from '../src/local-scorer.js';
import { loadScoringModel } from '../src/model.js';
import { writeModelVersion } from '../src/test-support/repository.js';
import { csvRows, requestRows } from '../src/test-support/rows.js';
import { load, pct, procRssBytes, serve } from './support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SECONDS = Number(arg('--seconds', '30'));
const CONCURRENCY = Number(arg('--concurrency', '8'));
const SWAPS = Number(arg('--swaps', '3'));
const WORKERS = arg('--workers', '2');
const POLL_SECONDS = arg('--poll-seconds', '1');
/** Seconds of steady load kept after each swap (and before the next): the window memory after an unload is read in. */
const SETTLE = Number(arg('--settle', '4'));
/** Seconds of load before the measured run: a process that just started grows its heaps for a while under traffic (the baseline must be past that). */
const WARMUP = Number(arg('--warmup', '15'));
const ROWS = 100;
const BODIES = 16;
const CLI = new URL('../src/cli.ts', import.meta.url).pathname;

const dir = await mkdtemp(join(tmpdir(), 'esm2-hot-swap-'));
try {
  const csv = join(dir, 'data.csv');
  const data = await writeSynthetic(csv, { rows: 20_000, seed: 5 });
  const encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });
  // Every version is exported before the clock starts: the swaps copy finished directories in.
  const staging = join(dir, 'staging');
  const repository = join(dir, 'repository');
  const files: Record<string, string> = {};
  for (let v = 1; v <= SWAPS + 1; v++) {
    const { file } = await writeModelVersion(encoders, v === 1 ? repository : staging, v, 100 + v, { towers: [256, 128, 64] });
    files[v] = file;
  }
  const rows = requestRows(csvRows(csv));
  const bodies = Array.from({ length: BODIES }, (_, k) => JSON.stringify({ rows: rows.slice(k * ROWS, (k + 1) * ROWS) }));

  const server = await serve(CLI, ['--model-repository', repository, '--poll-seconds', POLL_SECONDS, '--port', '0', '--workers', WORKERS]);
  const pid = server.child.pid;
  console.log(`hot swap: esm2-score serve --model-repository --workers ${WORKERS} --poll-seconds ${POLL_SECONDS} on ${server.url}; ${CONCURRENCY} clients, ${ROWS}-row POST /v1/score, ${SECONDS} s, ${SWAPS} swaps; load ${load()}`);

  // Memory, sampled every 200 ms (the clock starts after the warm-up).
  const rss: { t: number; bytes: number }[] = [];
  let t0 = performance.now() + WARMUP * 1000;
  const now = () => (performance.now() - t0) / 1000;
  const sampler = setInterval(() => {
    const bytes = procRssBytes(pid);
    if (bytes !== undefined) rss.push({ t: now(), bytes });
  }, 200);

  // The load: CONCURRENCY loops, one request at a time each, on keep-alive connections.
  type Done = { t: number; ms: number; status: number; version: string | undefined; body: number; predictions: string | undefined };
  const done: Done[] = [];
  let errors = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (k: number) =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = request(`${server.url}/v1/score`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const ms = performance.now() - start;
          const version = /"model_version":"([^"]*)"/.exec(text)?.[1];
          const at = text.indexOf('"predictions":');
          done.push({ t: (start - t0) / 1000, ms, status: res.statusCode ?? 0, version, body: k, predictions: at < 0 ? undefined : text.slice(at + 14, -1) });
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(bodies[k]);
    });
  let stop = false;
  const clients = Array.from({ length: CONCURRENCY }, async (_, c) => {
    for (let i = 0; !stop; i++) await post((c * 5 + i) % BODIES);
  });
  // The warm-up: the same load, not counted.
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const warmedUp = done.length;
  done.length = 0;
  rss.length = 0;
  t0 = performance.now();
  console.log(`warm-up: ${warmedUp} requests in ${WARMUP} s (not counted)`);

  // The swaps, evenly spread; each window runs from the copy to one second after the old version is closed.
  const windows: { version: string; how: string; from: number; serving: number; closed: number }[] = [];
  const copyIn = async (v: number) => {
    const incoming = join(repository, 'esm2', `.incoming-${v}`);
    await cp(join(staging, 'esm2', String(v)), incoming, { recursive: true });
    await rename(incoming, join(repository, 'esm2', String(v)));
  };
  // A swap starts at its planned time, but never less than SETTLE seconds after the previous one ended (its
  // old version closed), so memory after each unload is measured on a settled process.
  // The JS heap and external memory the serve process reports (/metrics), read at the end of each settled period.
  const heaps: string[] = [];
  const readHeap = async (when: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^esm2_scorer_${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
    heaps.push(`${when}: heap used ${value('nodejs_heap_size_used_bytes').toFixed(1)} of ${value('nodejs_heap_size_total_bytes').toFixed(1)}, external ${value('nodejs_external_memory_bytes').toFixed(1)}, RSS ${value('process_resident_memory_bytes').toFixed(1)}`);
  };
  for (let s = 1; s <= SWAPS; s++) {
    const at = Math.max((SECONDS * s) / (SWAPS + 1), (windows.at(-1)?.closed ?? 0) + SETTLE);
    await new Promise((r) => setTimeout(r, Math.max(0, (at - now()) * 1000)));
    await readHeap(s === 1 ? 'before the first swap' : `before swap ${s}`);
    const v = s + 1;
    const from = now();
    const serving = server.nextLine(new RegExp(`version ${v} serving`));
    const closed = server.nextLine(new RegExp(`version ${v - 1} closed`));
    await copyIn(v);
    let how = 'poll';
    if (s > 1) {
      how = 'load';
      const res = await fetch(`${server.url}/v2/repository/models/esm2/load`, { method: 'POST', body: JSON.stringify({ parameters: { version: String(v) } }), headers: { 'content-type': 'application/json' } });
      if (res.status !== 200) throw new Error(`load of version ${v}: ${res.status} ${await res.text()}`);
    }
    await serving;
    const servingAt = now();
    await closed;
    windows.push({ version: String(v), how, from, serving: servingAt, closed: now() });
  }
  await new Promise((r) => setTimeout(r, Math.max(0, (Math.max(SECONDS, (windows.at(-1)?.closed ?? 0) + SETTLE) - now()) * 1000)));
  await readHeap('at the end');
  stop = true;
  await Promise.all(clients);
  clearInterval(sampler);
  agent.destroy();
  const end = now();
  await server.stop();

  // Latency: steady (after a 2 s warm-up, outside every window) against during the swaps.
  const inWindow = (t: number) => windows.some((w) => t >= w.from && t <= w.closed + 1);
  const sorted = (list: Done[]) => list.map((d) => d.ms).sort((a, b) => a - b);
  const steady = sorted(done.filter((d) => d.t >= 0 && !inWindow(d.t)));
  const during = sorted(done.filter((d) => inWindow(d.t)));
  const failures = errors + done.filter((d) => d.status < 200 || d.status >= 300).length;
  console.log(`\nrequests ${done.length + errors} (${Math.round(done.length / end)} req/s, ${Math.round((done.length * ROWS) / end)} rows/s), failures ${failures} (errors ${errors}, non-2xx ${done.length - done.filter((d) => d.status === 200).length})`);
  console.log('window              requests   p50 ms   p99 ms   max ms');
  const line = (name: string, ms: number[]) =>
    console.log(`${name.padEnd(18)}  ${String(ms.length).padStart(8)}  ${(ms.length ? pct(ms, 50) : NaN).toFixed(1).padStart(7)}  ${(ms.length ? pct(ms, 99) : NaN).toFixed(1).padStart(7)}  ${(ms.length ? ms[ms.length - 1]! : NaN).toFixed(1).padStart(7)}`);
  line('steady', steady);
  line('during swaps', during);
  for (const w of windows) line(`swap to ${w.version} (${w.how})`, sorted(done.filter((d) => d.t >= w.from && d.t <= w.closed + 1)));
  console.log(`p99 during swaps / steady: ${(pct(during, 99) / pct(steady, 99)).toFixed(2)}`);
  for (const w of windows) {
    console.log(`  swap to ${w.version}: copied at ${w.from.toFixed(1)} s, serving after ${(w.serving - w.from).toFixed(2)} s, version ${Number(w.version) - 1} closed after ${(w.closed - w.from).toFixed(2)} s`);
  }

  // Answers against batch scoring (scoreFile over the same CSV, on this thread) of the version each names.
  console.log('\nversion  answers  distinct (version, body) checked  mismatches');
  const versions = [...new Set(done.map((d) => d.version).filter((v): v is string => v !== undefined))].sort((a, b) => Number(a) - Number(b));
  let allMatch = true;
  for (const v of versions) {
    const model = await loadScoringModel(files[v]!);
    const local = await LocalScorer.create(model);
    const predictions: Record<string, number>[] = [];
    let names: string[] = [];
    await scoreFile({
      model,
      scorer: local,
      data: csv,
      keys: [],
      out: {
        open: (columns) => (names = columns.map((c) => c.name)),
        writeColumns: async (values, n) => {
          // The file writer's text: the shortest decimal that reads back as the float32 score.
          for (let i = 0; i < n; i++) predictions.push(Object.fromEntries(names.map((name, c) => [name, Math.fround(Number(values[c]![i]))])));
        },
        close: async () => undefined,
      },
    });
    await local.close();
    const answers = done.filter((d) => d.version === v);
    const distinct = new Map<string, Done>();
    for (const d of answers) distinct.set(`${d.body}:${d.predictions}`, d);
    let mismatches = 0;
    for (const d of distinct.values()) {
      const expected = predictions.slice(d.body * ROWS, (d.body + 1) * ROWS);
      const got = JSON.parse(d.predictions!) as Record<string, number>[];
      // Exact: the JSON number is the float32 score itself.
      if (got.length !== expected.length || got.some((p, r) => names.some((name) => p[name] !== expected[r]![name]))) mismatches++;
    }
    if (mismatches > 0) allMatch = false;
    console.log(`${v.padStart(7)}  ${String(answers.length).padStart(7)}  ${String(distinct.size).padStart(32)}  ${String(mismatches).padStart(10)}`);
  }
  console.log(`every answer names a version: ${done.every((d) => d.status !== 200 || d.version !== undefined)}; every version's answers equal batch scoring: ${allMatch}`);

  // Memory: steady = before the first swap (after warm-up); after each old version closed = from 1 s after it to the next swap.
  const median = (list: number[]) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN;
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const steadyRss = median(rss.filter((s) => s.t >= 0 && s.t < (windows[0]?.from ?? end)).map((s) => s.bytes));
  const peak = Math.max(...rss.map((s) => s.bytes));
  console.log(`\nRSS of the serve process (MB): steady ${mb(steadyRss)}, peak ${mb(peak)}`);
  windows.forEach((w, i) => {
    const next = windows[i + 1]?.from ?? end;
    const after = median(rss.filter((s) => s.t >= w.closed + 1 && s.t < next).map((s) => s.bytes));
    // The latency window's span (to 1 s after the close): a swap can be shorter than the 200 ms sampling.
    const during = Math.max(...rss.filter((s) => s.t >= w.from && s.t <= w.closed + 1).map((s) => s.bytes));
    console.log(`  swap to ${w.version}: during ${mb(during)}, after version ${Number(w.version) - 1} closed ${mb(after)} (${(((after - steadyRss) / steadyRss) * 100).toFixed(1)} % from steady)`);
  });
  console.log(`memory the serve process reports (MB):\n  ${heaps.join('\n  ')}`);
  console.log(`load ${load()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
