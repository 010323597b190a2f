import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType, Graph, HostTensor } from '@esm2/core';

/** Debian's interpreter, where `apt-get install python3-torch` puts torch (a venv's python would not see it). */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** The Python package's directory, shipped beside the build (`python/` is a sibling of both `src/` and `dist/`). */
export const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));

export const TORCH_INSTALL_HINT = 'install it with: apt-get install python3-torch (Debian), or use a python with torch via ESM2_PYTHON';

/** esm2_torch.run's exit code when torch (or numpy) cannot be imported. */
const EXIT_NO_TORCH = 3;
const STDERR_KEEP = 16_384;

/** torch (or the python to run it) is not there; the message names the python and the package to install. */
export class TorchMissingError extends Error {
  override name = 'TorchMissingError';
  constructor(
    readonly python: string,
    detail: string,
  ) {
    super(`the torch backend needs PyTorch for Python under ${python}: ${detail}; ${TORCH_INSTALL_HINT}`);
  }
}

/** The torch run failed (bad request, an id outside its table…); `stderr` holds the end of python's output. */
export class TorchRunError extends Error {
  override name = 'TorchRunError';
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
  }
}

/** A tensor as torch returns it: f32 values as Float32Array, i32 ones as Int32Array. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

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

export interface TorchOptions {
  /** The python to run; default ESM2_PYTHON, else /usr/bin/python3. */
  python?: string;
  signal?: AbortSignal;
}

export interface TorchRunOptions extends TorchOptions {
  grads?: TorchGrads;
}

/** The python runs use: the option, else ESM2_PYTHON, else Debian's /usr/bin/python3. */
export function torchPython(options: TorchOptions = {}): string {
  return options.python ?? process.env.ESM2_PYTHON ?? DEFAULT_PYTHON;
}

/** A tensor of a request: its raw file (relative to the request directory), dtype and shape. */
export interface TensorSpec {
  file: string;
  dtype: DType;
  shape: number[];
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
  if (endianness() !== 'LE') throw new TorchRunError('the torch backend exchanges little-endian tensors; this machine is big-endian');
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

/** Writes a tensor as a raw little-endian file of `dtype` (converting the values if needed) and returns its spec. */
export async function writeTensor(dir: string, file: string, name: string, t: HostTensor, dtype: DType): Promise<TensorSpec> {
  const data = dtype === 'i32' ? (t.data instanceof Int32Array ? t.data : Int32Array.from(t.data)) : t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  const size = t.shape.reduce((n, d) => n * d, 1);
  if (data.length !== size) throw new TorchRunError(`'${name}' has ${data.length} elements for shape [${t.shape.join(',')}]`);
  await writeFile(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { file, dtype, shape: [...t.shape] };
}

/** Reads a response's tensors (f32 as Float32Array, i32 as Int32Array). */
export async function readTensors(dir: string, specs: Record<string, TensorSpec>): Promise<Record<string, TorchTensor>> {
  const out: Record<string, TorchTensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const bytes = await readFile(join(dir, spec.file));
    // A copy into a fresh (aligned) buffer: a Buffer's offset need not be a multiple of 4.
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    out[name] = { shape: spec.shape, data: spec.dtype === 'i32' ? new Int32Array(buffer) : new Float32Array(buffer) };
  }
  return out;
}

/** `python -m esm2_torch.run DIR` with the package's python directory on PYTHONPATH. */
export async function runPython(dir: string, options: TorchOptions): Promise<void> {
  const python = torchPython(options);
  options.signal?.throwIfAborted();
  const pythonPath = [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = spawn(python, ['-m', 'esm2_torch.run', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    signal: options.signal,
    killSignal: 'SIGKILL',
    env: { ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  let aborted: Error | undefined;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') aborted = options.signal?.reason instanceof Error ? options.signal.reason : e;
      else if (e.code === 'ENOENT' || e.code === 'EACCES') reject(new TorchMissingError(python, `cannot run ${python} (${e.code})`));
      else reject(e);
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  if (aborted !== undefined) throw aborted;
  const last = stderr.trimEnd().split('\n').at(-1)?.replace(/^esm2_torch: /, '') ?? '';
  if (exit.code === EXIT_NO_TORCH) throw new TorchMissingError(python, last || 'torch cannot be imported');
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new TorchRunError(`torch run failed (${python} -m esm2_torch.run ${how})${last ? `: ${last}` : ''}`, stderr);
  }
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
