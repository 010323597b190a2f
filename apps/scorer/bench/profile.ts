/**
 * Where a serve process's CPU went, from the V8 CPU profiles `node
 * --cpu-prof` writes (one per thread: the main thread and each worker):
 * every sample is put in one category by its stack (CATEGORIES, below),
 * samples spent waiting are left out, and the categories' shares of the
 * rest are scaled to the CPU µs per scored row measured for the same level.
 *
 *   pnpm exec tsx bench/profile.ts FILE.cpuprofile… [--cpu-us-per-row X] [--from µs --to µs]
 *
 * (--from/--to: CLOCK_MONOTONIC µs, the clock the profiles' timestamps use:
 * only samples in that window count.) The bench (bench.ts, section
 * `profile`) calls profileReport itself.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber?: number;
}

/** A category, and which frames belong to it. */
interface Category {
  name: string;
  test: (frame: CallFrame) => boolean;
}

const url = (...parts: string[]) => (f: CallFrame) => parts.some((p) => f.url.includes(p));
const fn = (...names: string[]) => (f: CallFrame) => names.includes(f.functionName);
/** Functions of one source file, by name. */
const inFile =
  (file: string, ...names: string[]) =>
  (f: CallFrame) =>
    f.url.includes(file) && names.includes(f.functionName);
/** A builtin or native function: V8 gives it no script URL. */
const builtin = (...names: string[]) => (f: CallFrame) => f.url === '' && names.includes(f.functionName);
const any =
  (...tests: ((f: CallFrame) => boolean)[]) =>
  (f: CallFrame) =>
    tests.some((t) => t(f));

export const IDLE = 'idle (not CPU)';
export const OTHER = 'other';

/**
 * The grouping rules, in one table. A sample's stack is read from its leaf
 * (the running function) towards the root; the first frame that some rule
 * matches decides, the rules tried in this order on each frame. So a
 * builtin with no URL of its own (Array.from, a TypedArray copy) counts
 * where its caller does, unless a rule names it (JSON.parse, JSON.stringify).
 * Idle: V8's `(idle)` (the event loop waiting in epoll), piscina's
 * atomicsWaitLoop and Atomics.wait (a worker waiting for a task), epoll.
 */
export const CATEGORIES: Category[] = [
  { name: IDLE, test: any(fn('(idle)', 'atomicsWaitLoop'), builtin('wait', 'waitAsync'), (f) => /epoll/i.test(f.functionName)) },
  { name: 'GC', test: fn('(garbage collector)') },
  // The native InferenceSession.run, called from backend.js (setImmediate → binding.run).
  { name: 'onnxruntime run (native)', test: url('onnxruntime-node/dist/backend.js') },
  { name: 'onnxruntime JS (tensors, checks)', test: url('/onnxruntime-common/', '/onnxruntime-node/') },
  { name: 'feeds → ort tensors (OnnxSession.run)', test: url('/backend-onnx/src/runtime/', '/backend-onnx/dist/runtime/') },
  { name: 'parse (JSON.parse, UTF-8, binary tensors)', test: any(builtin('parse'), fn('utf8Text', 'decodeBytesTensor', 'decodeFp32Tensor', 'decode'), url('node:internal/encoding', 'node:buffer')) },
  {
    name: 'response writing (stringify, floats)',
    test: any(
      builtin('stringify'),
      url('/float-format.'),
      fn('answerRequest', 'inferResponse', 'scoresToRows', 'sliceScores', 'encodeFp32Tensor', 'writeFloatLE'),
      inFile('/scorer/src/prepare.', 'inferAnswer'),
    ),
  },
  {
    name: 'encoding (@esm2/data encode, feeds)',
    test: any(
      url('/data/src/encode/', '/data/dist/encode/', '/scorer/src/feeds.', '/scorer/src/encode'),
      fn('encodeRows', 'encodeField', 'encodeColumns', 'concatFeeds'),
      inFile('/scorer/src/prepare.', 'encodeParsed', 'runArrays', 'runFeeds', 'writeRequest'),
    ),
  },
  { name: 'validation (rows, tensors)', test: url('/scorer/src/request.', '/scorer/src/open-inference.', '/scorer/src/prepare.') },
  { name: 'metrics', test: any(url('/prom-client/', '/scorer/src/metrics.', '/service/metrics.', 'tdigest', 'bintrees')) },
  {
    name: 'hand-off (piscina, postMessage, clone)',
    test: any(url('/piscina/', 'node:internal/worker', 'messageport', '/scorer/src/pool.', '/scorer/src/score-worker.', '/scorer/src/batch-queue.', '/scorer/src/hand-off.'), fn('postMessage', 'structuredClone', 'serialize', 'deserialize')),
  },
  {
    name: 'HTTP (node:http, net, streams, fastify)',
    test: any(
      url('node:_http', 'node:http', 'node:net', 'node:internal/http', 'node:internal/net', 'node:internal/stream', 'node:stream', 'node:internal/abort_controller'),
      url('/fastify/', '/find-my-way/', '/avvio/', '/light-my-request/', '/pino', '/fast-json-stringify/', '/@fastify/', '/secure-json-parse/', '/toad-cache/'),
      url('/scorer/src/service/', '/scorer/src/server.', '/scorer/src/serve.'),
      builtin('writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'shutdown', 'readStop', 'readStart', 'onStreamRead'),
    ),
  },
];

/** The category of a stack given leaf first. */
export function categorise(stack: readonly CallFrame[]): string {
  for (const frame of stack) for (const c of CATEGORIES) if (c.test(frame)) return c.name;
  return OTHER;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Tally {
  /** Sampled µs per category (idle included), all threads together. */
  byCategory: Map<string, number>;
  /** Sampled µs per category of the main thread. */
  main: Map<string, number>;
  /** Sampled µs per leaf function (name and file), of it the main thread's, and its category. */
  byFunction: Map<string, { us: number; main: number; category: string }>;
  /** Samples counted, and those outside the window. */
  samples: number;
  outside: number;
}

const add = <K>(m: Map<K, number>, k: K, v: number) => m.set(k, (m.get(k) ?? 0) + v);

/** Main thread's profile: node names it CPU.DATE.TIME.PID.TID.SEQ.cpuprofile, TID 0 for the main thread. */
const isMainThread = (file: string) => /\.\d+\.0\.\d+\.cpuprofile$/.test(basename(file));

/** Counts the samples of `files` (in `window`, CLOCK_MONOTONIC µs, when given) by category and by leaf function. */
export async function tally(files: readonly string[], window?: readonly [number, number]): Promise<Tally> {
  const t: Tally = { byCategory: new Map(), main: new Map(), byFunction: new Map(), samples: 0, outside: 0 };
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const main = isMainThread(file);
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const category = new Map<number, string>();
    const categoryOf = (id: number) => {
      let c = category.get(id);
      if (c === undefined) {
        const stack: CallFrame[] = [];
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(nodes.get(at)!.callFrame);
        category.set(id, (c = categorise(stack)));
      }
      return c;
    };
    let time = profile.startTime;
    const stamps = profile.timeDeltas.map((d) => (time += d));
    for (let i = 0; i < profile.samples.length; i++) {
      // A sample stands for the time until the next one.
      const us = i + 1 < stamps.length ? stamps[i + 1]! - stamps[i]! : 0;
      if (window && (stamps[i]! < window[0] || stamps[i]! > window[1])) {
        t.outside++;
        continue;
      }
      t.samples++;
      const id = profile.samples[i]!;
      const c = categoryOf(id);
      add(t.byCategory, c, us);
      if (main) add(t.main, c, us);
      const f = nodes.get(id)!.callFrame;
      // Line numbers only where the name is missing: under tsx, a source file's are those of its transpiled text.
      const where = f.url ? f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(apps|packages)\//, '$1/') : '(native)';
      const key = f.functionName ? `${f.functionName} ${where}` : `(anonymous) ${where}:${(f.lineNumber ?? 0) + 1}`;
      const entry = t.byFunction.get(key) ?? { us: 0, main: 0, category: c };
      entry.us += us;
      if (main) entry.main += us;
      t.byFunction.set(key, entry);
    }
  }
  return t;
}

export interface ReportOptions {
  /** Only samples in this CLOCK_MONOTONIC µs window count. */
  window?: readonly [number, number];
  /** The level's measured CPU µs per scored row (all threads), to scale the shares to. */
  cpuUsPerRow?: number | undefined;
  /**
   * The same, split by thread (from /proc/PID/task): the main thread, the
   * scoring workers, and the threads no profile samples (the profiler's
   * own, V8's GC and compiler helpers, libuv). When given, each profile's samples are
   * scaled to its own thread group's CPU, and the rest is a line of its own.
   */
  threads?: { main: number; workers: number; rest: number } | undefined;
  /** Rows scored in the window (for sampled µs per row). */
  rows?: number;
  /** Leaf functions listed. */
  top?: number;
  /** Appended to each table line (the bench's load average). */
  load?: string;
}

/** The CPU of threads no profile samples: the profiler's own, V8's GC and compiler helpers, libuv's. */
export const UNSAMPLED = 'other threads (profiler, V8 helpers, libuv)';

/** The table of categories (share of the measured CPU, µs per row, by thread group) and the busiest leaf functions. */
export async function profileReport(files: readonly string[], options: ReportOptions = {}): Promise<string> {
  let t = await tally(files, options.window);
  let note = '';
  if (options.window && t.samples === 0) {
    note = " (no sample fell in the level's time window: whole profiles counted, start-up included)";
    t = await tally(files);
  }
  const busyOf = (m: Map<string, number>) => [...m].filter(([c]) => c !== IDLE).reduce((n, [, us]) => n + us, 0);
  const busy = busyOf(t.byCategory);
  const busyMain = busyOf(t.main);
  const busyWorkers = busy - busyMain;
  // Sampled µs of the main thread and of the others → measured CPU µs per row.
  const { threads } = options;
  const scale = (main: number, workers: number): number | undefined => {
    if (threads) return (busyMain > 0 ? (threads.main * main) / busyMain : 0) + (busyWorkers > 0 ? (threads.workers * workers) / busyWorkers : 0);
    return options.cpuUsPerRow === undefined || busy === 0 ? undefined : (options.cpuUsPerRow * (main + workers)) / busy;
  };
  const total = threads ? threads.main + threads.workers + threads.rest : options.cpuUsPerRow;
  const share = (x: number | undefined) => (x === undefined || !total ? '-' : `${((100 * x) / total).toFixed(1)}%`);
  const cell = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
  const tail = options.load !== undefined ? `  ${options.load}` : '';
  const lines: string[] = [];
  const idle = t.byCategory.get(IDLE) ?? 0;
  lines.push(
    `${t.samples} samples${options.window ? ` in the level's window (${t.outside} outside it left out)` : ''}${note}: ${(busy / 1000).toFixed(0)} ms of CPU samples, ${(idle / 1000).toFixed(0)} ms idle (left out)` +
      (options.rows ? `; sampled ${(busy / options.rows).toFixed(2)} µs/row against ${total?.toFixed(2) ?? '-'} of CPU measured (/proc)` : ''),
  );
  lines.push(
    threads
      ? `samples are taken on the wall clock (a thread waiting for a core is sampled too), so each thread group's samples are scaled to its own CPU from /proc/PID/task: main thread ${threads.main.toFixed(2)}, workers ${threads.workers.toFixed(2)}, other threads ${threads.rest.toFixed(2)} µs/row`
      : 'samples are taken on the wall clock (a thread waiting for a core is sampled too): shares of the CPU samples, scaled to the CPU µs/row measured from /proc',
  );
  lines.push(`${'category'.padEnd(44)}  ${'share'.padStart(6)}  ${'µs/row'.padStart(7)}  ${'main thr'.padStart(8)}  ${'workers'.padStart(7)}${options.load !== undefined ? '   load' : ''}`);
  const order = [...CATEGORIES.map((c) => c.name), OTHER].filter((c) => c !== IDLE);
  for (const c of order) {
    const main = t.main.get(c) ?? 0;
    const workers = (t.byCategory.get(c) ?? 0) - main;
    const us = scale(main, workers);
    lines.push(`${c.padEnd(44)}  ${share(us).padStart(6)}  ${cell(us).padStart(7)}  ${cell(scale(main, 0)).padStart(8)}  ${cell(scale(0, workers)).padStart(7)}${tail}`);
  }
  if (threads) lines.push(`${UNSAMPLED.padEnd(44)}  ${share(threads.rest).padStart(6)}  ${cell(threads.rest).padStart(7)}  ${'-'.padStart(8)}  ${'-'.padStart(7)}${tail}`);
  const top = [...t.byFunction]
    .filter(([, v]) => v.category !== IDLE)
    .map(([name, v]) => ({ name, category: v.category, us: scale(v.main, v.us - v.main) ?? v.us }))
    .sort((a, b) => b.us - a.us)
    .slice(0, options.top ?? 15);
  lines.push('busiest functions (self time, leaf of the stack):');
  for (const f of top) lines.push(`  ${share(f.us).padStart(6)}  ${cell(f.us).padStart(6)} µs/row  ${f.category.split(' (')[0]!.padEnd(20)}  ${f.name}${tail}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv.splice(i, 2)[1]) : undefined;
  };
  const cpuUsPerRow = value('--cpu-us-per-row');
  const from = value('--from');
  const to = value('--to');
  if (argv.length === 0) throw new Error('usage: profile.ts FILE.cpuprofile… [--cpu-us-per-row X] [--from µs --to µs]');
  console.log(await profileReport(argv, { cpuUsPerRow, ...(from !== undefined && to !== undefined ? { window: [from, to] as const } : {}) }));
}
