import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLittleEndianHost, type DType, type HostTensor, type OptimizerConfig, type Weights, type ZooModel } from '@esm2/core';
import { TorchRunError } from './errors.js';
import type { TorchLaunch } from './launch.js';
import { runPython, type TorchOptions } from './python.js';
import { readTensors, weightsOf, writeTensor, writeWeights, type TensorSpec } from './tensors.js';

export interface TorchTraining {
  /** Per step, the value of every loss output of the model (`loss` and its parts) on its batch, before the update (NaN where not finite). */
  losses: Record<string, number>[];
  /** Every parameter after the last step, by name. */
  weights: Weights;
}

/** One training run: a model (its graph and loss outputs), initial weights, the optimizer, one batch per step. */
export interface TorchTrainRun {
  model: Pick<ZooModel, 'graph' | 'losses'>;
  weights: Weights;
  optimizer: OptimizerConfig;
  /** One batch per step: every graph input the losses need (features and labels, first dimension the batch); sizes may differ. */
  batches: Record<string, HostTensor>[];
}

export interface TorchTrainOptions extends TorchOptions {
  /**
   * Train on several ranks under torchrun (gloo): each step's batch is split
   * across the ranks in contiguous near-equal parts, and the step is the
   * same as on one rank (dense gradients summed, rows gradients gathered).
   * Without it, one python process.
   */
  launch?: TorchLaunch;
}

/**
 * Trains `model` with PyTorch (one python process, one rank, or the ranks of `options.launch`) for one step
 * per batch, from `weights`, with the project's training step: the
 * HostEmbeddingEngine's (core's buildTrainStep and SparseEmbeddingTable) —
 * Adam on dense parameters, lazy Adam or Adagrad on the embedding rows a
 * batch touched, global-norm clipping and embedding L2 as `optimizer`
 * says. `weights` is not modified.
 */
export async function trainTorch(
  model: Pick<ZooModel, 'graph' | 'losses'>,
  weights: Weights,
  optimizer: OptimizerConfig,
  batches: Record<string, HostTensor>[],
  options: TorchTrainOptions = {},
): Promise<TorchTraining> {
  const [result] = await trainTorchRuns([{ model, weights, optimizer, batches }], options);
  return result!;
}

/** Several trainings in one python process (its torch import takes seconds), each from its own weights; results in the order of `runs`. */
export async function trainTorchRuns(runs: TorchTrainRun[], options: TorchTrainOptions = {}): Promise<TorchTraining[]> {
  requireLittleEndianHost('the torch backend exchanges little-endian tensors', (m) => new TorchRunError(m));
  const dir = await mkdtemp(join(tmpdir(), 'esm2-torch-train-'));
  try {
    const requests = [];
    for (const [r, run] of runs.entries()) requests.push(await writeTrainRun(dir, run, r));
    await writeFile(join(dir, 'request.json'), JSON.stringify({ runs: requests }));
    await runPython(dir, options);
    const response = JSON.parse(await readFile(join(dir, 'response.json'), 'utf8')) as {
      runs: { losses: Record<string, number | null>[]; weights: Record<string, TensorSpec> }[];
    };
    return await Promise.all(
      response.runs.map(async (result, r) => {
        const final = await readTensors(dir, result.weights);
        return {
          losses: result.losses.map((step) => Object.fromEntries(Object.entries(step).map(([name, value]) => [name, value ?? Number.NaN]))),
          weights: weightsOf(runs[r]!.model.graph, final),
        };
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a run's weights and stacked batches as raw files and returns its part of request.json. */
async function writeTrainRun(dir: string, run: TorchTrainRun, r: number) {
  const { graph } = run.model;
  const params = await writeWeights(dir, `train-${r}`, graph, run.weights);
  const rows = run.batches.map((feeds, step) => {
    const first = Object.values(feeds)[0];
    if (!first) throw new TorchRunError(`batch ${step} has no inputs`);
    return first.shape[0]!;
  });
  const inputs: Record<string, TensorSpec> = {};
  for (const [k, input] of graph.inputs.entries()) {
    if (!run.batches.every((feeds) => feeds[input.name])) {
      if (run.batches.some((feeds) => feeds[input.name])) throw new TorchRunError(`input '${input.name}' is in some batches only`);
      continue;
    }
    inputs[input.name] = await writeTensor(dir, `train-${r}-input-${k}.bin`, input.name, stack(input.name, input.type.dtype, run.batches, rows), input.type.dtype);
  }
  return { mode: 'train', graph, losses: run.model.losses, optimizer: run.optimizer, weights: params, batches: { rows, inputs } };
}

/** One input's rows of every batch, one batch after another ([Σ rows, …]). */
function stack(name: string, dtype: DType, batches: Record<string, HostTensor>[], rows: number[]): HostTensor {
  const parts = batches.map((feeds, step) => {
    const t = feeds[name]!;
    if (t.shape[0] !== rows[step]) throw new TorchRunError(`batch ${step}: input '${name}' has ${t.shape[0]} rows, the batch's first input has ${rows[step]}`);
    return t;
  });
  const total = parts.reduce((n, t) => n + t.data.length, 0);
  const data = dtype === 'i32' ? new Int32Array(total) : new Float32Array(total);
  let offset = 0;
  for (const t of parts) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { shape: [rows.reduce((n, r) => n + r, 0), ...parts[0]!.shape.slice(1)], data };
}
