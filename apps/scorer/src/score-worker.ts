import { threadId } from 'node:worker_threads';
import type { OnnxModelInfo } from '@esm2/backend-onnx';
import { OnnxSession, type SessionOptions } from '@esm2/backend-onnx';
import { Piscina, transferableSymbol, valueSymbol } from 'piscina';
import type { Feeds } from './feeds.js';
import { spansBuffer } from './hand-off.js';
import { scoringModel, type ModelSource, type ScoringGraph } from './model.js';
import { answerBatch, prepareContext, type AnsweredBatch, type PrepareContext, type RawRequest } from './prepare.js';
import { warmupFeeds } from './warmup.js';

/**
 * A piscina worker: one onnxruntime session per worker thread, because
 * session.run keeps its calling thread busy; the HTTP thread stays free.
 * Given the model's metadata, a worker also answers request bodies (answer
 * tasks: parse, validate, encode, score, write the response body), so none
 * of that runs on the HTTP thread.
 *
 * A pool started without a model (a model repository's, shared by its
 * versions) holds versions by key instead: a version is loaded into every
 * worker by one load task per worker (`ScoringPool.loadVersion`), scored
 * and answered by tasks naming its key, and released again by unload tasks.
 */
export interface WorkerData {
  /** The model every task uses when it names no version; absent for a shared pool. */
  source?: ModelSource;
  session: SessionOptions;
  /** For answer tasks: the model's export metadata, its stored scoring graph, what --model named, the name and version it is served under. */
  model?: WorkerModel;
}

export interface WorkerModel {
  info: OnnxModelInfo;
  graph: ScoringGraph;
  origin: string;
  name: string;
  version: string;
}

export interface ScoreTask {
  feeds: Feeds;
  outputs: string[];
  /** The loaded version's key (absent: the pool's own model). */
  key?: string;
}

export interface AnswerTask {
  answer: RawRequest[];
  maxBatchRows: number;
  key?: string;
}

/**
 * A task every worker of the pool runs once: `parties` tasks are submitted
 * together and each waits (Atomics.waitAsync, the thread's event loop stays
 * free) until all `parties` have arrived at the shared counter `barrier`.
 * A worker runs one task at a time, so no two of them run in one worker.
 */
export interface BroadcastTask {
  barrier: Int32Array;
  parties: number;
  /** How long a task waits for the others before it fails (ms). */
  timeoutMs: number;
  /** Loads a version under `key`: its session, built on this thread, scores one all-OOV row before the task returns. */
  load?: VersionLoad;
  /** Loads those of these versions this worker does not hold (a thread started to replace one that died). */
  sync?: VersionLoad[];
  /** Releases the version loaded under this key. */
  unload?: string;
}

export interface VersionLoad {
  key: string;
  source: ModelSource;
  model: WorkerModel;
}

/** What each worker answers a broadcast with: its thread, and the keys it holds afterwards. */
export interface BroadcastReply {
  threadId: number;
  loaded: string[];
  /** Why the load failed in this worker (nothing was kept). */
  error?: string;
}

interface Loaded {
  session: OnnxSession;
  context: PrepareContext;
}

const data = Piscina.workerData as WorkerData;
const session = data.source ? OnnxSession.load(data.source.kind === 'file' ? data.source.path : data.source.bytes, data.session) : undefined;
// A load failure is reported by the first task that awaits it, not as an unhandled rejection killing the thread.
session?.catch(() => undefined);
// Built once, up front: the first request should not pay for it. A failure is reported by the answer tasks.
let context: PrepareContext | Error | undefined;
try {
  context = data.model && data.source ? prepareContext(scoringModel(data.model.info, data.model.graph, data.source, data.model.origin, data.model.name, data.model.version)) : undefined;
} catch (e) {
  context = e instanceof Error ? e : new Error(String(e));
}
/** Versions loaded by load tasks, by key. */
const versions = new Map<string, Loaded>();

function loadedVersion(key: string): Loaded {
  const v = versions.get(key);
  if (!v) throw new Error(`model version '${key}' is not loaded in worker thread ${threadId}`);
  return v;
}

/** Waits until `parties` tasks arrived at the barrier; fails after `timeoutMs` (a pool with fewer threads than parties). */
async function arrive(task: BroadcastTask): Promise<void> {
  const { barrier, parties, timeoutMs } = task;
  let seen = Atomics.add(barrier, 0, 1) + 1;
  if (seen >= parties) {
    Atomics.notify(barrier, 0);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (seen < parties) {
    const left = deadline - Date.now();
    // Atomics.waitAsync is in Node ≥ 16 (ES2024's lib types it).
    const wait = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: 'ok' | 'not-equal' | 'timed-out' | Promise<'ok' | 'timed-out'> } }).waitAsync(barrier, 0, seen, Math.max(0, left));
    const outcome = wait.async ? await (wait.value as Promise<string>) : wait.value;
    seen = Atomics.load(barrier, 0);
    if (outcome === 'timed-out' && seen < parties) {
      throw new Error(`worker thread ${threadId}: only ${seen} of ${parties} workers took a broadcast task within ${timeoutMs} ms`);
    }
  }
}

/** Loads a version into this worker (unless it holds it already); resolves with why that failed, keeping nothing, or undefined. */
async function load({ key, source, model }: VersionLoad): Promise<string | undefined> {
  if (versions.has(key)) return undefined;
  let s: OnnxSession | undefined;
  try {
    s = await OnnxSession.load(source.kind === 'file' ? source.path : source.bytes, data.session);
    const ctx = prepareContext(scoringModel(model.info, model.graph, source, model.origin, model.name, model.version));
    // One run now: the first request should not pay for the session's first run.
    await s.run(warmupFeeds(model.graph), ctx.model.predictions);
    versions.set(key, { session: s, context: ctx });
    return undefined;
  } catch (e) {
    await s?.release().catch(() => undefined);
    return e instanceof Error ? e.message : String(e);
  }
}

async function broadcast(task: BroadcastTask): Promise<BroadcastReply> {
  await arrive(task);
  let error: string | undefined;
  for (const version of [...(task.load ? [task.load] : []), ...(task.sync ?? [])]) {
    const failed = await load(version);
    error ??= failed;
  }
  if (task.unload !== undefined) {
    const v = versions.get(task.unload);
    versions.delete(task.unload);
    await v?.session.release();
  }
  return { threadId, loaded: [...versions.keys()], ...(error !== undefined ? { error } : {}) };
}

/** An answered batch, its response bodies that span a buffer of their own moved back to the HTTP thread rather than copied. */
function moveBodies(batch: AnsweredBatch): unknown {
  const buffers = new Set<ArrayBuffer>();
  for (const o of batch.outcomes) if (o.ok && typeof o.body !== 'string' && spansBuffer(o.body)) buffers.add(o.body.buffer);
  if (buffers.size === 0) return batch;
  return Piscina.move({ [transferableSymbol]: [...buffers], [valueSymbol]: batch });
}

/** Scores packed output-major ([outputs.length × rows]) in one buffer, moved back without a copy; or a batch of requests answered; or a broadcast task. */
export default async function score(task: ScoreTask | AnswerTask | BroadcastTask): Promise<unknown> {
  if ('barrier' in task) return broadcast(task);
  if ('answer' in task) {
    let ctx: PrepareContext;
    let s: OnnxSession;
    if (task.key !== undefined) {
      ({ context: ctx, session: s } = loadedVersion(task.key));
    } else {
      if (!context || !session) throw new Error('this pool was started without the model that answer tasks need');
      if (context instanceof Error) throw context;
      ctx = context;
      s = await session;
    }
    const { predictions } = ctx.model;
    const batch = await answerBatch(ctx, task.answer, task.maxBatchRows, async (feeds) => {
      const result = await s.run(feeds, predictions);
      return Object.fromEntries(predictions.map((name) => [name, result[name]!.data]));
    });
    return moveBodies(batch);
  }
  let s: OnnxSession;
  if (task.key !== undefined) s = loadedVersion(task.key).session;
  else if (session) s = await session;
  else throw new Error('this pool was started without a model: score tasks must name a loaded version');
  const result = await s.run(task.feeds, task.outputs);
  const rows = result[task.outputs[0]!]!.data.length;
  const packed = new Float32Array(rows * task.outputs.length);
  task.outputs.forEach((name, k) => packed.set(result[name]!.data, k * rows));
  return Piscina.move(packed);
}
