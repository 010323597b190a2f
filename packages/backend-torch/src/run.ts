import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DType, type Graph, type HostTensor, type Weights } from '@esm2/core';
import { pythonPath, runCommand } from '@esm2/core/node';

/** Debian's interpreter (where `apt-get install python3-torch` puts torch), kept here for the package's API. */
export { DEFAULT_PYTHON } from '@esm2/core/node';

/** The Python package's directory, shipped beside the build (`python/` is a sibling of both `src/` and `dist/`). */
export const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));

export const TORCH_INSTALL_HINT = 'install it with: apt-get install python3-torch (Debian), or use a python with torch via ESM2_PYTHON';

/** esm2_torch.run's exit code when torch (or numpy) cannot be imported. */
const EXIT_NO_TORCH = 3;

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
  return pythonPath(options.python);
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

/** Writes every parameter of `graph` from `weights` as `PREFIX-param-K.bin` (f32) and returns their specs by name; a missing one is an error naming it. */
export async function writeWeights(dir: string, prefix: string, graph: Graph, weights: Weights): Promise<Record<string, TensorSpec>> {
  const specs: Record<string, TensorSpec> = {};
  for (const [k, p] of graph.params.entries()) {
    const w = weights.get(p.name);
    if (!w) throw new TorchRunError(`no initial weights for parameter '${p.name}'`);
    specs[p.name] = await writeTensor(dir, `${prefix}-param-${k}.bin`, p.name, { shape: p.type.shape as number[], data: w }, 'f32');
  }
  return specs;
}

/** The parameters of `graph` among tensors read back (readTensors), as Weights. */
export function weightsOf(graph: Graph, tensors: Record<string, TorchTensor>): Weights {
  return new Map(graph.params.map((p) => [p.name, tensors[p.name]!.data as Float32Array]));
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

/**
 * torchrun's launch (`python -m torch.distributed.run`): processes per node
 * and, for several machines, the static rendezvous every node is given.
 */
export interface TorchLaunch {
  /** Ranks on this machine (torchrun's --nproc_per_node). */
  nprocPerNode: number;
  /** Machines (default 1). */
  nnodes?: number;
  /** This machine's number, 0…nnodes−1 (default 0). */
  nodeRank?: number;
  /** Address of node 0 (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of node 0's rendezvous (default: a free port on one node; required on several). */
  masterPort?: number;
  /** Times torchrun restarts the whole group after a rank fails (default 0). */
  maxRestarts?: number;
  /** Where torchrun keeps each rank's stdout (default: a temporary directory, removed afterwards). */
  logDir?: string;
}

/** A free TCP port on the loopback interface (the kernel's choice), for a one-node rendezvous. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Checks a launch and fills its defaults; several nodes need the master's address and port given. */
export async function resolveLaunch(launch: TorchLaunch): Promise<Required<Omit<TorchLaunch, 'logDir'>> & Pick<TorchLaunch, 'logDir'>> {
  const nnodes = launch.nnodes ?? 1;
  const positive = (name: string, x: number) => {
    if (!Number.isInteger(x) || x < 1) throw new TorchRunError(`${name} must be a positive integer, got ${x}`);
  };
  positive('nprocPerNode', launch.nprocPerNode);
  positive('nnodes', nnodes);
  const nodeRank = launch.nodeRank ?? 0;
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new TorchRunError(`nodeRank must be 0…${nnodes - 1} (nnodes ${nnodes}), got ${nodeRank}`);
  const maxRestarts = launch.maxRestarts ?? 0;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) throw new TorchRunError(`maxRestarts must be an integer ≥ 0, got ${maxRestarts}`);
  if (nnodes > 1 && (launch.masterAddr === undefined || launch.masterPort === undefined)) {
    throw new TorchRunError(`${nnodes} nodes need the address and port of node 0 (masterAddr, masterPort), the same on every node`);
  }
  return {
    nprocPerNode: launch.nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr: launch.masterAddr ?? '127.0.0.1',
    masterPort: launch.masterPort ?? (await freePort()),
    maxRestarts,
    ...(launch.logDir !== undefined ? { logDir: launch.logDir } : {}),
  };
}

/**
 * The OpenBLAS kernels torch's matrix products should use. Debian's torch
 * 1.13 does its GEMMs in the system OpenBLAS (0.3.21; BLAS_INFO=generic),
 * whose CPU detection falls back to Prescott (SSE3) on a VM whose CPUID
 * names no known model ("Intel(R) Xeon(R) Processor"): measured on this
 * project's machines, 31 against 142 GFLOP/s for a 1024×256 · 256×128
 * product, 12k against 36k samples/s per epoch of the trainer bench's
 * PyTorch anchor, and 3× the torch backend's samples/s. So
 * the core type is named from the CPU's flags; OPENBLAS_CORETYPE, when set,
 * wins; undefined leaves OpenBLAS to its own detection (not Linux, no AVX2).
 */
export function openblasCoretype(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return process.env.OPENBLAS_CORETYPE;
  let flags: string[];
  try {
    flags = (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/);
  } catch {
    return undefined;
  }
  if (flags.includes('avx512bf16')) return 'Cooperlake';
  if (flags.includes('avx512f')) return 'SkylakeX';
  if (flags.includes('avx2')) return 'Haswell';
  return undefined;
}

export interface PythonModuleOptions extends TorchOptions {
  /** Run the module's ranks under torchrun; without it, one python process. */
  launch?: TorchLaunch;
  /** Each line the module (rank 0 under torchrun: torchrun's `[default0]:` prefix removed) prints on stdout. */
  onLine?: (line: string, rank: number) => void;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/**
 * Runs `python -m MODULE ARGS…` of the package's python directory (on
 * PYTHONPATH) — under torchrun with `options.launch` — and resolves when it
 * exits 0. Failures reject with TorchMissingError (no python or no torch)
 * or TorchRunError (the last `esm2_torch:` line of stderr, and its tail).
 */
export async function runPythonModule(module: string, args: string[], options: PythonModuleOptions = {}): Promise<void> {
  const python = torchPython(options);
  options.signal?.throwIfAborted();
  const pythonPath = [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(':');
  let argv = ['-m', module, ...args];
  let logDir: string | undefined;
  let tempLogs: string | undefined;
  if (options.launch) {
    const launch = await resolveLaunch(options.launch);
    logDir = launch.logDir ?? (tempLogs = await mkdtemp(join(tmpdir(), 'esm2-torchrun-')));
    // -r 1 -t 1: stdout to each rank's log and to the console, prefixed [defaultN]: (torchrun's default redirects crash on Python 3.11).
    argv = [
      '-m', 'torch.distributed.run', '-r', '1', '-t', '1', '--log_dir', logDir,
      '--nproc_per_node', String(launch.nprocPerNode), '--nnodes', String(launch.nnodes), '--node_rank', String(launch.nodeRank),
      '--master_addr', launch.masterAddr, '--master_port', String(launch.masterPort), '--max_restarts', String(launch.maxRestarts),
      ...argv,
    ];
  }
  const kernels = openblasCoretype();
  const coretype = kernels === undefined ? {} : { OPENBLAS_CORETYPE: kernels };
  const onLine = options.onLine;
  try {
    const exit = await runCommand(python, argv, {
      signal: options.signal,
      // torchrun stops its ranks on SIGTERM; SIGKILL would leave them running.
      killSignal: options.launch ? 'SIGTERM' : 'SIGKILL',
      // Ranks take one thread each unless told otherwise (torchrun sets OMP_NUM_THREADS=1 too); OpenBLAS the CPU's kernels.
      env: { OMP_NUM_THREADS: '1', ...coretype, ...process.env, ...options.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' },
      ...(onLine
        ? {
            stdout: (stream) =>
              createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
                const prefixed = /^\[default(\d+)\]:(.*)$/.exec(line);
                if (prefixed) onLine(prefixed[2]!, Number(prefixed[1]));
                else if (!options.launch) onLine(line, 0);
              }),
          }
        : {}),
      cannotStart: (code) => new TorchMissingError(python, `cannot run ${python} (${code})`),
    });
    const { stderr } = exit;
    const lines = stderr.trimEnd().split('\n');
    const ours = lines.filter((l) => l.startsWith('esm2_torch: '));
    // Under torchrun: the first rank to print its error line is the one that failed first (the others then
    // lose their connections to it; torchrun's own "Root Cause" is whichever failure it noticed first).
    const rankLine = ours.map((l) => /^esm2_torch: \[rank (\d+)\] (.*)$/.exec(l)).find((m) => m !== null);
    const last = rankLine ? `rank ${rankLine[1]}: ${rankLine[2]}` : (ours.at(-1) ?? lines.at(-1) ?? '').replace(/^esm2_torch: /, '');
    if (exit.code === EXIT_NO_TORCH || (options.launch && exit.code !== 0 && /No module named '?torch\b|torch cannot be imported/.test(stderr))) {
      throw new TorchMissingError(python, ours.at(-1)?.replace(/^esm2_torch: (\[rank \d+\] )?/, '') || (/No module named '?torch/.test(stderr) ? `torch cannot be imported by ${python}` : last) || 'torch cannot be imported');
    }
    if (exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const what = options.launch ? `torchrun (${python} -m torch.distributed.run … -m ${module})` : `${python} -m ${module}`;
      throw new TorchRunError(`torch run failed (${what} ${how})${last ? `: ${last}` : ''}`, stderr);
    }
  } finally {
    if (tempLogs) await rm(tempLogs, { recursive: true, force: true });
  }
}

/** `python -m esm2_torch.run DIR` (under torchrun with `options.launch`). */
export async function runPython(dir: string, options: PythonModuleOptions): Promise<void> {
  await runPythonModule('esm2_torch.run', [dir], options);
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
