/**
 * Graph runs: a graph, its tensors and the outputs (and gradients) wanted,
 * evaluated by `python -m esm2_torch.run` through a request directory.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLittleEndianHost, type DType, type Graph, type HostTensor } from '@esm2/core';
import { TorchRunError } from './errors.js';
import { runPython, type TorchOptions } from './python.js';
import { readTensors, writeTensor, type TensorSpec, type TorchTensor } from './tensors.js';

export interface TorchGrads {
  /** The scalar graph output to differentiate. */
  loss: string;
  /** f32 inputs or parameters (given in the run's tensors) to differentiate with respect to. */
  wrt: string[];
}

/** One graph evaluation: the graph, its inputs and parameters by name, the outputs wanted. */
export interface TorchRun {
  graph: Graph;
  /** Graph inputs and parameters by name; only those the outputs need must be given. */
  tensors: Record<string, HostTensor>;
  outputs: string[];
  /** Gradients by torch's autograd. */
  grads?: TorchGrads;
}

export interface TorchResult {
  outputs: Record<string, TorchTensor>;
  /** d loss / d value for each `grads.wrt` name; empty without `grads`. */
  grads: Record<string, TorchTensor>;
}

export interface TorchRunOptions extends TorchOptions {
  grads?: TorchGrads;
}

interface RunResponse {
  outputs: Record<string, TensorSpec>;
  grads: Record<string, TensorSpec>;
}

/**
 * Runs `graph` with PyTorch (one python process) and returns the named
 * outputs, and with `options.grads` torch.autograd's gradients of a scalar
 * output. Parameters are passed in `tensors` like inputs.
 */
export async function runTorchGraph(
  graph: Graph,
  tensors: Record<string, HostTensor>,
  outputs: string[],
  options: TorchRunOptions = {},
): Promise<TorchResult> {
  const { grads, ...rest } = options;
  const [result] = await runTorchGraphs([{ graph, tensors, outputs, ...(grads ? { grads } : {}) }], rest);
  return result!;
}

/**
 * Several graph runs in one python process (its torch import takes seconds);
 * results in the order of `runs`. The request goes through a temporary
 * directory (raw little-endian tensors + JSON), always removed.
 */
export async function runTorchGraphs(runs: TorchRun[], options: TorchOptions = {}): Promise<TorchResult[]> {
  requireLittleEndianHost('the torch backend exchanges little-endian tensors', (m) => new TorchRunError(m));
  const dir = await mkdtemp(join(tmpdir(), 'esm2-torch-'));
  try {
    const request = { runs: await Promise.all(runs.map((run, k) => writeRun(dir, run, k))) };
    await writeFile(join(dir, 'request.json'), JSON.stringify(request));
    await runPython(dir, options);
    const response = JSON.parse(await readFile(join(dir, 'response.json'), 'utf8')) as { runs: RunResponse[] };
    return await Promise.all(
      response.runs.map(async (r) => ({ outputs: await readTensors(dir, r.outputs), grads: await readTensors(dir, r.grads) })),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a run's tensors as raw files (typed by the graph) and returns its part of request.json. */
async function writeRun(dir: string, run: TorchRun, k: number) {
  const dtypes = new Map<string, DType>([...run.graph.inputs, ...run.graph.params].map((v) => [v.name, v.type.dtype]));
  const specs: Record<string, TensorSpec> = {};
  await Promise.all(
    Object.entries(run.tensors).map(async ([name, t], i) => {
      const dtype = dtypes.get(name);
      if (dtype === undefined) throw new TorchRunError(`'${name}' is neither an input nor a parameter of graph '${run.graph.name}'`);
      specs[name] = await writeTensor(dir, `in-${k}-${i}.bin`, name, t, dtype);
    }),
  );
  return { graph: run.graph, tensors: specs, outputs: run.outputs, ...(run.grads ? { grads: run.grads } : {}) };
}

/** What the python can do: torch's version and the ops its lowering table covers (sorted). */
export async function torchInfo(options: TorchOptions = {}): Promise<{ torch: string; ops: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-torch-'));
  try {
    await writeFile(join(dir, 'request.json'), JSON.stringify({ runs: [] }));
    await runPython(dir, options);
    const response = JSON.parse(await readFile(join(dir, 'response.json'), 'utf8')) as { torch: string; ops: string[] };
    return { torch: response.torch, ops: response.ops };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
