/**
 * Training throughput of both engines in one run, on the default ESM2 size
 * (the generator's 9 categorical fields + a tag list + 2 numerics, dim 16,
 * towers 256-128-64, batch 1024): per step on batches held in memory, and
 * over whole epochs including reading, encoding and shuffling the Parquet
 * file, and over the same rows encoded once into shards (`data encode`).
 * The paper architecture (interaction none) beside the interaction
 * modules (--interaction dot | cross) on the same engine settings. Each
 * configuration runs in its own process so peak RSS is its own.
 *
 * The anchor is measured in the same run: torch_esm2.py, a PyTorch
 * implementation of the same model (Debian's python3-torch on OpenBLAS, 1
 * thread, OMP_WAIT_POLICY=PASSIVE), trains one epoch on the same file's batches,
 * which this bench writes out encoded (raw little-endian, one file per graph
 * input, the onnx epochs' shuffled order) because Python here has no Parquet
 * reader. Its figure and each onnx epoch's ratio to it are printed; without
 * torch the reason is printed and the anchor skipped. Its timed loop starts
 * from encoded batches in memory, so the ratio favours PyTorch slightly.
 *
 * The torch backend itself (@esm2/backend-torch: the IR run by PyTorch with
 * the project's training step, as `fit --backend torch` runs it) trains one
 * epoch from the encoded shards on 1 rank and on 2 ranks (torchrun, gloo on
 * loopback, 1 thread each); its samples/s (python's own epoch time, without
 * the startup) are printed next to the onnx engine's encoded epochs, or why
 * they are skipped.
 *
 * Every figure is also printed as a percentage of the machine's roofline
 * (roofline.ts): the fp32 GEMM rate measured first, with onnxruntime on one
 * thread at the products of the default ESM2 step, times the threads a
 * configuration computes on (at most the cores), over the FLOP a training
 * sample costs in matrix products (core's matrixProductFlops on each
 * configuration's step graph), beside the FMA peak the CPU's flags and
 * clock suggest (an estimate). The anchor runs with OpenBLAS pinned to its
 * torch thread count and the core type openblasCoretype() names; the core
 * OpenBLAS reports running is printed.
 *
 *   pnpm --filter @esm2/trainer bench            (or `pnpm bench` at the root; 300 k rows)
 *   BENCH_ROWS=2000000 pnpm --filter @esm2/trainer bench     (docs/performance.md's figures)
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open as openFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, buildTrainStep, DEFAULT_OPTIMIZER, initWeights, matrixProductFlops, requireLittleEndianHost, tableSize, type GraphFlops, type Interaction, type TrainingEngine } from '@esm2/core';
import { pythonPath } from '@esm2/core/node';
import { onnxEngineFactory } from '@esm2/backend-onnx';
import { tfjsEngineFactory } from '@esm2/backend-tfjs';
import { openblasCoretype, torchInfo, trainTorchEpochs, type TorchLaunch } from '@esm2/backend-torch';
import { readAhead } from '../src/train/loop.js';
import { fmaPeakEstimate, measureGemmRate, measuredShare, productShapes, type GemmRate } from './roofline.js';
import { batchToFeeds, EncodedShards, fitEncoders, openDataset, openEncodedDataset, prefetchDataset, writeEncodedShards, writeSynthetic, type Batch, type DatasetOptions, type Encoders } from '@esm2/data';

interface Config {
  engine: 'onnx' | 'tfjs';
  /** onnx: sessions computing shares of each batch's gradients concurrently (default 1). */
  workers?: number;
  threads: number;
  spinning: boolean;
  /** The model's interaction module (default none: the paper's architecture). */
  interaction?: Interaction;
  /** Steps timed on in-memory batches. */
  steps: number;
  /**
   * Whole epochs: over the Parquet file, 'worker' prefetching on a worker
   * thread and 'inline' reading on the training thread; 'encoded' over the
   * same rows encoded once into shards (`data encode`, openEncodedDataset:
   * read into memory at the epoch's start, a full seeded permutation).
   */
  epochs: ('worker' | 'inline' | 'encoded')[];
}

const ROWS = Number(process.env.BENCH_ROWS ?? 300_000);
const BATCH = 1024;
/** The onnx epochs' shuffle, which the PyTorch anchor's batches follow too. */
const SHUFFLE = { seed: 1, buffer: 100_000 };
/** The PyTorch anchor's python: BENCH_PYTHON, else the one the torch backend runs (ESM2_PYTHON, else Debian's python3 with python3-torch). */
const PYTHON = pythonPath(process.env.BENCH_PYTHON);
/** Threads of the PyTorch anchor: torch's (OMP_NUM_THREADS) and OpenBLAS's alike. */
const TORCH_THREADS = 1;
const CORES = availableParallelism();

const fitBenchEncoders = (file: string): Promise<Encoders> => fitEncoders(file, { numeric: ['price', 'item_rating'], multi: ['user_tags'], userField: 'user_id' });

async function child(config: Config, file: string, encoded: string): Promise<void> {
  const encoders = await fitBenchEncoders(file);
  const model = buildModel(encoders.schema, { interaction: config.interaction ?? 'none' });
  const weights = initWeights(model.graph, 1);
  const factory = config.engine === 'onnx' ? onnxEngineFactory({ threads: config.threads, spinning: config.spinning, workers: config.workers ?? 1 }) : tfjsEngineFactory();
  const engine: TrainingEngine = await factory.create({ model, weights, optimizer: DEFAULT_OPTIMIZER });
  const held: Batch[] = [];
  for await (const b of openDataset(file, { encoders, batchSize: BATCH, dropLast: true })) {
    held.push(b);
    if (held.length === 16) break;
  }
  const feeds = held.map((b) => batchToFeeds(model.graph, b));
  for (let i = 0; i < 3; i++) await engine.step(feeds[i % feeds.length]!);
  const t0 = performance.now();
  const stepCpu = process.cpuUsage();
  for (let i = 0; i < config.steps; i++) await engine.step(feeds[i % feeds.length]!);
  const stepMs = (performance.now() - t0) / config.steps;
  const stepUsed = process.cpuUsage(stepCpu);
  const result: Record<string, unknown> = {
    ...config,
    params: model.graph.params.reduce((n, p) => n + (p.type.shape as number[]).reduce((a, d) => a * d, 1), 0),
    step_ms: stepMs,
    step_samples_per_s: (BATCH * 1000) / stepMs,
    // Per CPU-second of the whole process (every thread), as the epochs' figure below.
    step_samples_per_cpu_s: (BATCH * config.steps) / ((stepUsed.user + stepUsed.system) / 1e6),
  };
  for (const mode of config.epochs) {
    const open = mode === 'worker' ? prefetchDataset : mode === 'inline' ? openDataset : (_: string, o: DatasetOptions) => openEncodedDataset(encoded, o);
    const t = performance.now();
    const cpu = process.cpuUsage();
    let rows = 0;
    // As fit steps: the next batch is read while a step runs.
    for await (const { batch } of readAhead(open(file, { encoders, batchSize: BATCH, shuffle: SHUFFLE }), (b) => engine.step(batchToFeeds(model.graph, b)))) rows += batch.size;
    result[`epoch_${mode}_samples_per_s`] = rows / ((performance.now() - t) / 1000);
    // Per CPU-second of the whole process (every thread): what the epoch costs, whatever else the machine runs.
    const used = process.cpuUsage(cpu);
    result[`epoch_${mode}_samples_per_cpu_s`] = rows / ((used.user + used.system) / 1e6);
  }
  result.peak_rss_mib = process.resourceUsage().maxRSS / 1024;
  engine.dispose();
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/**
 * Writes what torch_esm2.py reads into `dir`: every graph input of the
 * default ESM2 model over one epoch of `file` in the onnx epochs' order, one
 * raw little-endian file each, and meta.json (fields, model and optimizer
 * settings, files).
 */
async function writeTorchInputs(file: string, dir: string): Promise<void> {
  requireLittleEndianHost('the PyTorch anchor reads little-endian files');
  const encoders = await fitBenchEncoders(file);
  const model = buildModel(encoders.schema);
  const handles = new Map<string, FileHandle>();
  const inputs: Record<string, { file: string; dtype: string; width: number }> = {};
  for (const input of model.graph.inputs) {
    const name = `${input.name.replace(/[^\w.-]/g, '_')}.bin`;
    inputs[input.name] = { file: name, dtype: input.type.dtype, width: input.type.shape.reduce<number>((a, d) => (d === 'batch' ? a : a * d), 1) };
    handles.set(input.name, await openFile(join(dir, name), 'w'));
  }
  let rows = 0;
  try {
    for await (const b of openDataset(file, { encoders, batchSize: BATCH, shuffle: SHUFFLE })) {
      for (const [name, t] of Object.entries(batchToFeeds(model.graph, b))) {
        await handles.get(name)!.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
      rows += b.size;
    }
  } finally {
    for (const h of handles.values()) await h.close();
  }
  const fields = encoders.schema.fields.map((f) =>
    f.kind === 'numeric'
      ? { name: f.name, kind: f.kind }
      : { name: f.name, kind: f.kind, rows: tableSize(f), dim: f.embeddingDim ?? model.config.embeddingDim, ...(f.kind === 'multiCategorical' ? { maxLength: f.maxLength, pooling: f.pooling } : {}) },
  );
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ rows, batch: BATCH, fields, model: model.config, optimizer: DEFAULT_OPTIMIZER, inputs }, null, 1));
}

/** The PyTorch anchor's RESULT, or why there is none. */
/** torch_esm2.py's RESULT line. */
interface TorchResult {
  torch: string;
  threads: number;
  /** The core type OpenBLAS runs its kernels for (openblas_get_corename), and its build configuration. */
  openblas_core: string | null;
  openblas_config: string | null;
  rows: number;
  epoch_seconds: number;
  epoch_samples_per_s: number;
  epoch_samples_per_cpu_s: number;
  first_loss: number;
  last_loss: number;
  peak_rss_mib: number;
}

async function runTorch(file: string, dir: string): Promise<TorchResult | string> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${PYTHON} cannot import torch and numpy (apt-get install python3-torch): ${(probe.error?.message ?? probe.stderr).trim().split('\n').pop()}`;
  await writeTorchInputs(file, dir);
  const script = fileURLToPath(new URL('torch_esm2.py', import.meta.url));
  const coretype = openblasCoretype();
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(TORCH_THREADS), OPENBLAS_NUM_THREADS: String(TORCH_THREADS), ...(coretype !== undefined ? { OPENBLAS_CORETYPE: coretype } : {}) };
  const run = spawnSync(PYTHON, [script, join(dir, 'meta.json')], { encoding: 'utf8', env, maxBuffer: 2 ** 26 });
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return `torch_esm2.py failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`;
  return JSON.parse(line.slice(7)) as TorchResult;
}

/**
 * One epoch of the torch backend over the encoded shards, on one python
 * process and on 2 ranks under torchrun: samples/s by rank count, or why
 * there are none.
 */
async function runTorchBackend(encoded: string, dir: string): Promise<{ ranks: number; samplesPerS: number; seconds: number }[] | string> {
  const info = await torchInfo().catch((e: unknown) => e as Error);
  if (info instanceof Error) return info.message;
  const { encoders } = await EncodedShards.describe(encoded);
  const model = buildModel(encoders.schema);
  const out = [];
  for (const launch of [undefined, { nprocPerNode: 2 }] as (TorchLaunch | undefined)[]) {
    const request = { model, weights: initWeights(model.graph, 1), step: 0, optimizer: DEFAULT_OPTIMIZER, data: encoded, batchSize: BATCH, epochs: [{ epoch: 1, seed: SHUFFLE.seed }], dir: join(dir, 'torch-backend') };
    for await (const e of trainTorchEpochs(request, launch ? { launch } : {})) out.push({ ranks: launch?.nprocPerNode ?? 1, samplesPerS: e.rows / e.seconds, seconds: e.seconds });
  }
  return out;
}

/** Sessions (or processes) × intra-op threads computing at once, at most the cores: what the roofline multiplies the one-thread GEMM rate by. */
const parallelism = (workers: number, threads: number): number => Math.min(workers * threads, CORES);

/**
 * The roofline: the GEMM rate at the default ESM2 step's products, and the
 * FLOP each training sample costs per interaction module (the step's graph
 * at batch BATCH); printed with the FMA peak estimate.
 */
async function roofline(encoders: Encoders): Promise<{ gemm: GemmRate; flops: Record<Interaction, GraphFlops>; samplesPerS: (interaction: Interaction, lanes: number) => number }> {
  const interactions: Interaction[] = ['none', 'dot', 'cross'];
  const models = new Map(interactions.map((i) => [i, buildModel(encoders.schema, { interaction: i })]));
  const flops = Object.fromEntries(interactions.map((i) => [i, matrixProductFlops(buildTrainStep(models.get(i)!, DEFAULT_OPTIMIZER).graph, BATCH)])) as Record<Interaction, GraphFlops>;
  const forward = (i: Interaction) => matrixProductFlops(models.get(i)!.graph, BATCH).perSample;
  // The first tower layer's product: batch × (the concatenated embeddings' width) · that width × the first tower width.
  const paper = models.get('none')!;
  const towerInput = matrixProductFlops(paper.graph, BATCH).products.find((p) => p.op === 'matmul' && p.m === 'batch' && !p.transA && !p.transB && p.n === paper.config.towers[0])?.k;
  const gemm = await measureGemmRate(productShapes(flops.none.products, BATCH));
  const role = (s: { transA: boolean; transB: boolean }) => (s.transA ? 'dW = Xᵀ·dY' : s.transB ? 'dX = dY·Wᵀ' : 'forward');
  console.log(`roofline: fp32 GEMM rate of this CPU at the products of one default ESM2 training step (batch ${BATCH}, towers' input ${String(towerInput)} wide, from the built model's graph),`);
  console.log(`onnxruntime MatMul (Gemm where an operand is transposed, as the step runs them), 1 intra-op thread, spinning off, per CPU-second (measured in ${gemm.seconds.toFixed(1)} s, load ${loadavg()[0]!.toFixed(1)}):`);
  console.log(`  ${'product'.padEnd(24)} role          per step  µs each  GFLOP/s`);
  for (const r of gemm.shapes) {
    const a = r.transA ? `(${r.k}×${r.m})ᵀ` : `${r.m}×${r.k}`;
    const b = r.transB ? `(${r.n}×${r.k})ᵀ` : `${r.k}×${r.n}`;
    console.log(`  ${`${a} · ${b}`.padEnd(24)} ${role(r).padEnd(12)}  ${String(r.count).padStart(8)}  ${r.micros.toFixed(1).padStart(7)}  ${r.gflops.toFixed(1).padStart(7)}`);
  }
  const peak = fmaPeakEstimate();
  const share = peak ? ` = ${Math.round((100 * gemm.gflops) / peak.gflops)} % of the FMA peak estimate` : '';
  console.log(`  overall, the step's mix (its FLOP over the time its products take): ${gemm.gflops.toFixed(1)} GFLOP/s on one thread${share}`);
  console.log(
    peak
      ? `  FMA peak estimate (not measured): ${peak.flopPerCycle} FLOP/cycle (${peak.units}) × ${peak.ghz.toFixed(2)} GHz (${peak.clock}) = ${peak.gflops.toFixed(1)} GFLOP/s per core`
      : '  FMA peak estimate: none (no /proc/cpuinfo clock)',
  );
  console.log(`FLOP per training sample: 2·m·k·n per matrix product of the step's graph (forward, dX = dY·Wᵀ where X takes a gradient, dW = Xᵀ·dY; the dot module's pairwise products as per-row Gram matrices);`);
  console.log('not counted: embedding lookups and their scatters, element-wise ops, reductions, the optimizer. Roofline = GEMM rate × min(sessions × threads, cores) ÷ FLOP per sample');
  console.log(`(the onnx engine: workers × threads; tfjs, pure JS: 1; the PyTorch anchor: its ${TORCH_THREADS} thread${TORCH_THREADS > 1 ? 's' : ''}; the torch backend: ranks × 1 thread; ${CORES} cores):`);
  for (const i of interactions) {
    const f = flops[i];
    const { other } = measuredShare(f.products, BATCH);
    const batched = other > 0 ? `, of which ${(other / BATCH / 1e3).toFixed(1)} kFLOP per-row pairwise products` : '';
    console.log(`  interaction ${i.padEnd(6)} ${(f.perSample / 1e6).toFixed(3)} MFLOP per sample (${(f.perSample / forward(i)).toFixed(2)}× the forward pass's ${(forward(i) / 1e6).toFixed(3)}${batched}): roofline ${Math.round((gemm.gflops * 1e9) / f.perSample)} samples/s per thread`);
  }
  console.log('');
  return { gemm, flops, samplesPerS: (i, lanes) => (gemm.gflops * 1e9 * lanes) / flops[i].perSample };
}

const percent = (samplesPerS: number, roof: number): string => `${Math.round((100 * samplesPerS) / roof)} %`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-train-bench-'));
  try {
    const file = join(dir, 'train.parquet');
    await writeSynthetic(file, { rows: ROWS, seed: 1, worldSeed: 7 });
    // The same rows encoded once, as `esm2-train data encode` writes them, for the 'encoded' epochs.
    const encoded = join(dir, 'encoded');
    const encodeStart = performance.now();
    const encoders = await fitBenchEncoders(file);
    await writeEncodedShards(file, encoders, encoded);
    const encodeSeconds = (performance.now() - encodeStart) / 1000;
    // The anchor runs right after the onnx engine's paper-architecture configurations.
    const onnx: Config[] = [
      { engine: 'onnx', threads: 1, spinning: false, steps: 60, epochs: ['worker', 'encoded'] },
      { engine: 'onnx', threads: 2, spinning: false, steps: 60, epochs: ['worker'] },
      { engine: 'onnx', workers: 2, threads: 1, spinning: false, steps: 60, epochs: ['worker', 'inline', 'encoded'] },
    ];
    const others: Config[] = [
      { engine: 'tfjs', threads: 1, spinning: false, steps: 3, epochs: [] },
      { engine: 'onnx', threads: 2, spinning: false, interaction: 'dot', steps: 60, epochs: ['worker'] },
      { engine: 'onnx', threads: 2, spinning: false, interaction: 'cross', steps: 60, epochs: ['worker'] },
      { engine: 'tfjs', threads: 1, spinning: false, interaction: 'dot', steps: 3, epochs: [] },
      { engine: 'tfjs', threads: 1, spinning: false, interaction: 'cross', steps: 3, epochs: [] },
    ];
    console.log(`training bench: ${ROWS} generated rows, batch ${BATCH}, default ESM2 size\n`);
    console.log(`load average before: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (${CORES} cores)\n`);
    console.log(`encoded the rows into shards once (data encode): ${encodeSeconds.toFixed(1)} s\n`);
    const roof = await roofline(encoders);
    console.log('% roofline: step samples/s over the configuration\'s roofline (above) | step samples per CPU-second of the process (all threads) over the one-thread roofline,');
    console.log('which other work on the cores does not lower');
    console.log('engine  interaction  workers  threads  spin   ms/step  step samples/s  % roofline (wall | CPU)  epoch samples/s (worker | inline | encoded)  peak RSS  load');
    const epochs: { label: string; samplesPerS: number; perCpuS: number; roof: number }[] = [];
    const measure = (config: Config) => {
      const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'child', JSON.stringify(config), file, encoded], { encoding: 'utf8', maxBuffer: 2 ** 26 });
      const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        console.log(`${config.engine} ${config.interaction ?? 'none'} ${config.threads}: failed\n${run.stderr.slice(-2000)}`);
        return;
      }
      const r = JSON.parse(line.slice(7)) as Record<string, number | string | boolean>;
      const f = (k: string) => (typeof r[k] === 'number' ? Math.round(r[k] as number).toString() : '-');
      const interaction = config.interaction ?? 'none';
      const ceiling = roof.samplesPerS(interaction, parallelism(config.workers ?? 1, config.threads));
      const perCpu = percent(r.step_samples_per_cpu_s as number, roof.samplesPerS(interaction, 1));
      console.log(
        `${String(r.engine).padEnd(7)} ${String(r.interaction ?? 'none').padEnd(11)}  ${String(r.workers ?? 1).padStart(7)}  ${String(r.threads).padStart(7)}  ${String(r.spinning).padEnd(5)} ${(r.step_ms as number).toFixed(1).padStart(8)}  ${f('step_samples_per_s').padStart(14)}  ${percent(r.step_samples_per_s as number, ceiling).padStart(10)} | ${perCpu.padEnd(11)}  ${f('epoch_worker_samples_per_s').padStart(16)} | ${f('epoch_inline_samples_per_s').padStart(6)} | ${f('epoch_encoded_samples_per_s').padEnd(8)}  ${`${f('peak_rss_mib')} MiB`.padStart(8)}  ${loadavg()[0]!.toFixed(1)}`,
      );
      for (const mode of config.epochs) {
        const v = r[`epoch_${mode}_samples_per_s`];
        const sessions = (config.workers ?? 1) > 1 ? `${config.workers} workers × ${config.threads} thread` : `${config.threads} thread${config.threads > 1 ? 's' : ''}`;
        if (typeof v === 'number' && interaction === 'none') epochs.push({ label: `onnx ${sessions}${config.spinning ? ' spinning' : ''}, ${mode} epoch`, samplesPerS: v, perCpuS: r[`epoch_${mode}_samples_per_cpu_s`] as number, roof: ceiling });
      }
    };
    for (const config of onnx) measure(config);
    const torchDir = join(dir, 'torch');
    await mkdir(torchDir);
    const torch = await runTorch(file, torchDir);
    await rm(torchDir, { recursive: true, force: true });
    if (typeof torch === 'string') console.log(`\nPyTorch anchor skipped: ${torch}\n`);
    else {
      const anchor = torch.epoch_samples_per_s;
      const anchorRoof = roof.samplesPerS('none', parallelism(1, torch.threads));
      const pinned = torch.threads === TORCH_THREADS ? '' : ` (asked for ${TORCH_THREADS}!)`;
      const kernels = `OPENBLAS_CORETYPE=${openblasCoretype() ?? '(unset: OpenBLAS detects)'}, OpenBLAS runs ${torch.openblas_core ?? '(core not reported)'} kernels${torch.openblas_config ? ` (${torch.openblas_config})` : ''}`;
      console.log(`\nPyTorch ${torch.torch} anchor (same model, ${torch.threads} thread${torch.threads > 1 ? 's' : ''}${pinned}, OPENBLAS_NUM_THREADS=${TORCH_THREADS}, OMP_WAIT_POLICY=PASSIVE, ${kernels}; same rows in the same order, encoded in memory):`);
      console.log(`  ${Math.round(anchor)} samples/s per epoch = ${percent(anchor, anchorRoof)} of its roofline (${torch.epoch_seconds.toFixed(1)} s; loss ${torch.first_loss.toFixed(3)} → ${torch.last_loss.toFixed(3)}), peak RSS ${Math.round(torch.peak_rss_mib)} MiB, load ${loadavg()[0]!.toFixed(1)}`);
      const cpuRoof = roof.samplesPerS('none', 1);
      console.log(`  (per CPU-second of the process, all threads: PyTorch ${Math.round(torch.epoch_samples_per_cpu_s)} = ${percent(torch.epoch_samples_per_cpu_s, cpuRoof)} of the one-thread roofline; a loaded machine shares cores unevenly between 1- and 2-thread processes)`);
      for (const e of epochs) {
        console.log(`  ${e.label.padEnd(44)} ${Math.round(e.samplesPerS).toString().padStart(8)} samples/s = ${(e.samplesPerS / anchor).toFixed(2)}× PyTorch = ${percent(e.samplesPerS, e.roof).padStart(4)} of roofline   (${Math.round(e.perCpuS)} per CPU-second = ${percent(e.perCpuS, cpuRoof)})`);
      }
      console.log('');
    }
    const backend = await runTorchBackend(encoded, dir);
    if (typeof backend === 'string') console.log(`torch backend skipped: ${backend}\n`);
    else {
      const onnxEncoded = epochs.filter((e) => e.label.endsWith('encoded epoch'));
      console.log(`torch backend (@esm2/backend-torch: the IR run by PyTorch ${typeof torch === 'string' ? '' : `${torch.torch} `}with the project's step, as fit --backend torch; encoded shards, batch ${BATCH}; load ${loadavg()[0]!.toFixed(1)}):`);
      for (const b of backend) {
        const ratios = onnxEncoded.map((e) => `${(b.samplesPerS / e.samplesPerS).toFixed(2)}× ${e.label.replace(', encoded epoch', '')}`).join(', ');
        const ofRoof = percent(b.samplesPerS, roof.samplesPerS('none', parallelism(b.ranks, 1)));
        console.log(`  ${b.ranks === 1 ? '1 rank (one process)  ' : `${b.ranks} ranks (torchrun, gloo)`} ${Math.round(b.samplesPerS).toString().padStart(8)} samples/s per epoch (${b.seconds.toFixed(1)} s) = ${ofRoof} of roofline${ratios ? `, ${ratios} (encoded epochs)` : ''}`);
      }
      console.log('');
    }
    for (const config of others) measure(config);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]!) as Config, process.argv[4]!, process.argv[5]!);
else await main();
