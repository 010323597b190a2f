import { availableParallelism } from 'node:os';
import type { SessionOptions } from '@esm2/backend-onnx';
import { Piscina } from 'piscina';
import type { Feeds, Scores } from './feeds.js';
import { movable } from './hand-off.js';
import type { ModelSource, ScoringModel } from './model.js';
import type { AnsweredBatch, RawRequest } from './prepare.js';
import type { AnswerTask, BroadcastReply, BroadcastTask, ScoreTask, VersionLoad, WorkerData, WorkerModel } from './score-worker.js';
import { Serial } from './serial.js';
import type { VersionScorer } from './service/versions.js';
import { warmupFeeds } from './warmup.js';

export interface PoolOptions {
  /** Worker threads, each with its own session. Default: one per core, at most 2. */
  workers?: number;
  session?: SessionOptions;
  /** The model, for answerBodies(): workers then rebuild its encoders from its metadata and take its graph as is. */
  model?: ScoringModel;
}

/** How long a broadcast task waits for the pool's other workers to take theirs: each is at most one queued task away. */
const BROADCAST_TIMEOUT_MS = 60_000;

/** What a worker needs of a model to answer request bodies with it. */
function workerModel(model: ScoringModel): WorkerModel {
  return { info: model.info, graph: model.graph, origin: model.origin, name: model.name, version: model.version };
}

/**
 * Running from TypeScript sources (tsx, vitest) the worker is a .ts file and
 * needs tsx's loader; a built package points at the compiled .js.
 */
function workerEntry(): { filename: string; execArgv?: string[] } {
  const fromSources = import.meta.url.endsWith('.ts');
  const filename = new URL(`./score-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  // Otherwise the workers inherit the process's options: given explicitly, a V8 or per-process one such as
  // --max-old-space-size would make every worker refuse to start (ERR_WORKER_INVALID_EXEC_ARGV).
  return fromSources && !hasTsx ? { filename, execArgv: [...process.execArgv, '--import', 'tsx'] } : { filename };
}

/**
 * The worker-thread pool that runs onnxruntime sessions: of one model (the
 * `source` it is started with), or, started without one, of the model
 * versions loaded into it (`loadVersion`), which then share its threads.
 */
export class ScoringPool {
  private readonly pool: Piscina;
  readonly workers: number;
  /** Broadcasts run one at a time: two at once could each hold a worker the other one waits for. */
  readonly #broadcasts = new Serial();
  #keys = 0;
  /** The versions loaded by loadVersion and not unloaded: what a thread started to replace one that died must load. */
  readonly #live = new Map<string, VersionLoad>();

  constructor(source: ModelSource | undefined, options: PoolOptions = {}) {
    this.workers = options.workers ?? Math.min(2, availableParallelism());
    const workerData: WorkerData = {
      ...(source ? { source } : {}),
      session: options.session ?? {},
      ...(options.model ? { model: workerModel(options.model) } : {}),
    };
    this.pool = new Piscina({
      ...workerEntry(),
      workerData,
      minThreads: this.workers,
      maxThreads: this.workers,
      // Sessions are expensive to create: keep workers for the life of the pool.
      idleTimeout: Infinity,
    });
    // Piscina replaces a worker thread that died; the new one has no version loaded (the pool's own model it loads from workerData).
    this.pool.on('workerCreate', () => {
      if (this.#live.size === 0) return;
      this.#broadcast({ sync: [...this.#live.values()] })
        .then((replies) => replies.find((r) => r.error !== undefined)?.error)
        .then(
          (error) => error && process.emitWarning(`a replacement worker thread could not load every model version: ${error}`),
          (e: Error) => process.emitWarning(`a replacement worker thread could not load the model versions: ${e.message}`),
        );
    });
  }

  /**
   * Runs one all-OOV row through every worker: the workers start, load the
   * model and build their sessions now (seconds on a busy machine), not
   * inside the first requests' scoring timeout; a model the runtime cannot
   * load is reported here.
   */
  async warmUp(model: ScoringModel): Promise<void> {
    await Promise.all(Array.from({ length: this.workers }, () => this.score(warmupFeeds(model.graph), model.predictions)));
  }

  /** Scores feeds in a worker (with the version loaded under `key`, else the pool's model); the feed buffers are transferred (the caller must not reuse them). */
  async score(feeds: Feeds, outputs: string[], key?: string): Promise<Scores> {
    const task: ScoreTask = { feeds, outputs, ...(key !== undefined ? { key } : {}) };
    const transferList = [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))];
    const packed = (await this.pool.run(task, { transferList })) as Float32Array;
    const rows = packed.length / outputs.length;
    const scores: Scores = {};
    outputs.forEach((name, k) => (scores[name] = packed.subarray(k * rows, (k + 1) * rows)));
    return scores;
  }

  /**
   * Answers a batch of request bodies in one worker task (answerBatch:
   * parse, validate, encode, score, write each response body), so the
   * HTTP thread only moves bytes; needs the pool to have been given the model.
   * The bodies' buffers move to the worker (a body that is a view of part of
   * a larger buffer is copied into its own first): the caller must not read
   * them afterwards. Response bodies come back the same way.
   */
  async answerBodies(requests: RawRequest[], maxBatchRows: number, key?: string): Promise<AnsweredBatch> {
    const transferList: ArrayBuffer[] = [];
    const answer = requests.map((r) => (r.body && r.body.byteLength > 0 ? { ...r, body: movable(r.body, transferList) } : r));
    const task: AnswerTask = { answer, maxBatchRows, ...(key !== undefined ? { key } : {}) };
    return (await this.pool.run(task, { transferList })) as AnsweredBatch;
  }

  /**
   * Loads `model` into every worker of this pool, beside what they hold:
   * no thread is started and no module loaded, each worker builds the
   * version's session and request checks and scores one all-OOV row with
   * it. Resolves with the version's scorer, whose close() releases it in
   * every worker; a version that fails to load in any worker is released
   * in all of them and the error thrown.
   */
  async loadVersion(model: ScoringModel): Promise<VersionScorer> {
    const key = `${model.version}#${++this.#keys}`;
    const load: VersionLoad = { key, source: model.source, model: workerModel(model) };
    let replies: BroadcastReply[];
    try {
      replies = await this.#broadcast({ load });
    } catch (e) {
      await this.#broadcast({ unload: key }).catch(() => undefined);
      throw e;
    }
    const failed = replies.find((r) => r.error !== undefined);
    if (failed) {
      await this.#broadcast({ unload: key });
      throw new Error(failed.error);
    }
    this.#live.set(key, load);
    return {
      workers: this.workers,
      score: (feeds, outputs) => this.score(feeds, outputs, key),
      answerBodies: (requests, maxBatchRows) => this.answerBodies(requests, maxBatchRows, key),
      close: async () => {
        this.#live.delete(key);
        await this.#broadcast({ unload: key });
      },
      // Cut off at shutdown: the pool's owner destroys the pool, and with it every version.
      destroy: () => Promise.resolve(),
    };
  }

  /** The thread ids of the pool's workers now (as piscina lists them). */
  get threadIds(): number[] {
    return this.pool.threads.map((t) => t.threadId);
  }

  /** Each worker's thread id and the keys of the versions it holds (loadVersion's). */
  status(): Promise<BroadcastReply[]> {
    return this.#broadcast({});
  }

  /**
   * Runs `task` once in every worker: piscina has no broadcast, and a
   * message posted to one of its threads is taken for its start message,
   * so the pool submits one task per worker, each waiting at a shared
   * barrier until all have arrived — a worker runs one task at a time, so
   * they land on distinct workers (checked).
   */
  #broadcast(task: Pick<BroadcastTask, 'load' | 'unload' | 'sync'>): Promise<BroadcastReply[]> {
    return this.#broadcasts.run(async () => {
      const barrier = new Int32Array(new SharedArrayBuffer(4));
      const full: BroadcastTask = { ...task, barrier, parties: this.workers, timeoutMs: BROADCAST_TIMEOUT_MS };
      const settled = await Promise.allSettled(Array.from({ length: this.workers }, () => this.pool.run(full) as Promise<BroadcastReply>));
      const rejected = settled.find((s) => s.status === 'rejected');
      if (rejected) throw rejected.reason;
      const replies = settled.map((s) => (s as PromiseFulfilledResult<BroadcastReply>).value);
      const threads = new Set(replies.map((r) => r.threadId));
      if (threads.size !== this.workers) throw new Error(`a task meant for each of the ${this.workers} workers ran on ${threads.size} distinct threads (${[...threads].join(', ')})`);
      return replies;
    });
  }

  /** Waits for queued tasks, then stops the workers. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Terminates the workers now; tasks still queued or running are rejected. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
