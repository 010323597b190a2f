import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { requireLittleEndianHost, type EngineState, type OptimizerConfig, type StateTensor, type Weights, type ZooModel } from '@esm2/core';
import { EncodedShards } from '@esm2/data';
import { TorchRunError } from './errors.js';
import type { TorchLaunch } from './launch.js';
import { runPythonModule, type TorchOptions } from './python.js';
import { readTensors, weightsOf, writeTensor, writeWeights, type TensorSpec } from './tensors.js';

/** Epochs of training from an encoded-shards directory (`esm2-train data encode`), by `python -m esm2_torch.fit` on one rank or under torchrun. */
export interface TorchFitRequest {
  model: Pick<ZooModel, 'graph' | 'losses'>;
  /** The weights to start from, every parameter. */
  weights: Weights;
  /** Optimizer state to continue (core's STATE_KEYS, as a checkpoint holds it); absent for a new run. */
  state?: EngineState;
  /** Optimizer steps taken before (0 for a new run); the epochs' step counts continue from it. */
  step: number;
  optimizer: OptimizerConfig;
  /** The encoded-shards directory every rank reads (a path all nodes see); checked here first (EncodedShards.check), before python starts. */
  data: string;
  /** Rows per global batch (split across the ranks). */
  batchSize: number;
  /** The epochs to train, in order, each with its shuffle seed (the data package's full permutation of the rows). */
  epochs: { epoch: number; seed: number }[];
  /** Scratch directory of this training (request, epoch results, mid-epoch checkpoints, torchrun's logs); emptied first, removed at the end. */
  dir: string;
  /** Also checkpoint every this many steps of an epoch, for a restarted group to resume from (0: at epoch ends only). */
  checkpointEvery?: number;
}

export interface TorchFitOptions extends TorchOptions {
  /** Ranks under torchrun; without it, one python process. */
  launch?: TorchLaunch;
  /** Rank 0's running progress: rows of the epoch done and the latest step's loss. */
  onProgress?(progress: { epoch: number; rows: number; loss: number }): void;
  /** What rank 0 says on the way (a restarted group resuming from its checkpoint). */
  onLog?(message: string): void;
  /** Extra environment of the python processes. */
  env?: Record<string, string>;
}

/** One trained epoch: what it took and the parameters and optimizer state after it. */
export interface TorchEpoch {
  epoch: number;
  /** Optimizer steps taken in all (the request's `step` plus this and earlier epochs'). */
  step: number;
  rows: number;
  seconds: number;
  /** Mean over the epoch's rows of every loss output (`loss` and its parts). */
  losses: Record<string, number>;
  weights: Weights;
  state: EngineState;
}

interface EpochMeta {
  runId: string;
  epoch: number;
  step: number;
  rows: number;
  seconds: number;
  losses: Record<string, number>;
  weights: Record<string, TensorSpec>;
  state: Record<string, TensorSpec>;
}

/**
 * Trains the request's epochs with PyTorch and yields each as it ends,
 * while the next one trains. Ending the iteration early (an early stop)
 * stops the python processes. A failure of python or of a rank rejects
 * with TorchRunError (its stderr's tail) or TorchMissingError. Python
 * memory-maps the shards as they are, so they are checked first, with the
 * in-process trainers' checks (@esm2/data's EncodedShards.check: checksums,
 * labels, funnel, id ranges): bad shards reject with an Error naming the
 * file, row and column before anything is written or launched.
 */
export async function* trainTorchEpochs(request: TorchFitRequest, options: TorchFitOptions = {}): AsyncGenerator<TorchEpoch> {
  requireLittleEndianHost('the torch backend exchanges little-endian tensors', (m) => new TorchRunError(m));
  await EncodedShards.check(request.data);
  const dir = resolve(request.dir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'start'), { recursive: true });
  const runId = randomUUID();
  const { graph } = request.model;
  const weights = await writeWeights(dir, 'start/weights', graph, request.weights);
  const state: Record<string, TensorSpec> = {};
  for (const [k, [key, t]] of [...(request.state ?? new Map<string, StateTensor>())].entries()) {
    state[key] = await writeTensor(dir, `start/state-${k}.bin`, key, { shape: t.shape, data: t.data }, t.dtype);
  }
  await writeFile(
    join(dir, 'request.json'),
    JSON.stringify({
      runId,
      graph,
      losses: request.model.losses,
      optimizer: request.optimizer,
      batchSize: request.batchSize,
      checkpointEvery: request.checkpointEvery ?? 0,
      data: resolve(request.data),
      epochs: request.epochs,
      start: { step: request.step, weights, ...(request.state ? { state } : {}) },
      out: dir,
    }),
  );

  // Epoch events wait here until the consumer asks for them; `wake` resolves the consumer's wait.
  const ready: string[] = [];
  let announced = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const stop = new AbortController();
  const abort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abort, { once: true });
  let finished = false;
  let failure: Error | undefined;
  const running = runPythonModule('esm2_torch.fit', [join(dir, 'request.json')], {
    ...(options.python ? { python: options.python } : {}),
    ...(options.launch ? { launch: { logDir: join(dir, 'logs'), ...options.launch } } : {}),
    ...(options.env ? { env: options.env } : {}),
    signal: stop.signal,
    onLine: (line, rank) => {
      if (rank !== 0 || !line.startsWith('{')) return;
      let event: { event?: string; epoch?: number; rows?: number; loss?: number; dir?: string; message?: string };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event === 'progress') options.onProgress?.({ epoch: event.epoch!, rows: event.rows!, loss: event.loss! });
      else if (event.event === 'log' && event.message) options.onLog?.(event.message);
      else if (event.event === 'epoch' && event.dir && event.epoch! > announced) {
        // A group restarted between an epoch's announcement and its next checkpoint announces it again.
        announced = event.epoch!;
        ready.push(event.dir);
        notify();
      }
    },
  }).then(
    () => {
      finished = true;
      notify();
    },
    (e: unknown) => {
      finished = true;
      failure = e instanceof Error ? e : new Error(String(e));
      notify();
    },
  );
  try {
    for (;;) {
      const next = ready.shift();
      if (next !== undefined) {
        const epochDir = join(dir, next);
        const meta = JSON.parse(await readFile(join(epochDir, 'meta.json'), 'utf8')) as EpochMeta;
        if (meta.runId !== runId) throw new TorchRunError(`${epochDir}: written by another run`);
        const tensors = await readTensors(epochDir, meta.weights);
        const stateTensors = await readTensors(epochDir, meta.state);
        const epoch: TorchEpoch = {
          epoch: meta.epoch,
          step: meta.step,
          rows: meta.rows,
          seconds: meta.seconds,
          losses: meta.losses,
          weights: weightsOf(graph, tensors),
          state: new Map(
            Object.entries(stateTensors).map(([key, t]): [string, StateTensor] =>
              t.data instanceof Int32Array ? [key, { dtype: 'i32', shape: t.shape, data: t.data }] : [key, { dtype: 'f32', shape: t.shape, data: t.data }],
            ),
          ),
        };
        await rm(epochDir, { recursive: true, force: true });
        yield epoch;
        continue;
      }
      if (finished) {
        if (failure !== undefined) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    if (!finished) stop.abort(new Error('the training was stopped'));
    await running;
    await rm(dir, { recursive: true, force: true });
  }
}
