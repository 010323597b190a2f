import { availableParallelism } from 'node:os';
import type { SessionOptions } from '@esm2/backend-onnx';
import { Piscina } from 'piscina';
import type { Feeds, Scores } from './feeds.js';
import type { ModelSource, ScoringModel } from './model.js';
import type { AnsweredBatch, RawRequest } from './prepare.js';
import type { AnswerTask, ScoreTask, WorkerData } from './score-worker.js';
import { warmupFeeds } from './warmup.js';

export interface PoolOptions {
  /** Worker threads, each with its own session. Default: one per core, at most 2. */
  workers?: number;
  session?: SessionOptions;
  /** The model, for answerBodies(): workers then rebuild its encoders from its metadata and take its graph as is. */
  model?: ScoringModel;
}

/**
 * Running from TypeScript sources (tsx, vitest) the worker is a .ts file and
 * needs tsx's loader; a built package points at the compiled .js.
 */
function workerEntry(): { filename: string; execArgv: string[] } {
  const fromSources = import.meta.url.endsWith('.ts');
  const filename = new URL(`./score-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return { filename, execArgv: fromSources && !hasTsx ? [...process.execArgv, '--import', 'tsx'] : process.execArgv };
}

/** The worker-thread pool that runs onnxruntime sessions. */
export class ScoringPool {
  private readonly pool: Piscina;
  readonly workers: number;

  constructor(source: ModelSource, options: PoolOptions = {}) {
    this.workers = options.workers ?? Math.min(2, availableParallelism());
    const workerData: WorkerData = {
      source,
      session: options.session ?? {},
      ...(options.model ? { model: { info: options.model.info, graph: options.model.graph, origin: options.model.origin, name: options.model.name, version: options.model.version } } : {}),
    };
    this.pool = new Piscina({
      ...workerEntry(),
      workerData,
      minThreads: this.workers,
      maxThreads: this.workers,
      // Sessions are expensive to create: keep workers for the life of the pool.
      idleTimeout: Infinity,
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

  /** Scores feeds in a worker; the feed buffers are transferred (the caller must not reuse them). */
  async score(feeds: Feeds, outputs: string[]): Promise<Scores> {
    const task: ScoreTask = { feeds, outputs };
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
   */
  async answerBodies(requests: RawRequest[], maxBatchRows: number): Promise<AnsweredBatch> {
    const task: AnswerTask = { answer: requests, maxBatchRows };
    return (await this.pool.run(task)) as AnsweredBatch;
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
