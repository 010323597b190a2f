/**
 * The training bench's roofline: the fp32 GEMM rate of this CPU at the
 * shapes a training step multiplies, measured with onnxruntime's own
 * MatMul/Gemm on one intra-op thread (spinning off), and the FMA peak the
 * CPU's flags and clock suggest (an estimate, printed beside it).
 *
 * Each distinct 2-D product of the step's graph (core's matrixProductFlops
 * on buildTrainStep: forward B×in·in×out, dX = dY·Wᵀ, dW = Xᵀ·dY per
 * layer) becomes a small IR graph compiled by the ONNX lowering
 * (compileGraph, which emits MatMul, or Gemm where an operand is
 * transposed, as the step's own graph does), holding enough copies of the
 * product that one run does ~0.3 GFLOP (a few ms): each copy's first row is sliced
 * off and concatenated, so what crosses back to JavaScript is small and the
 * per-run cost is the products'. Time is the process's CPU time (one
 * thread computes), so other processes sharing the cores slow the wall
 * clock but not the rate. The overall rate is the step's FLOP over the
 * time its products take at the measured per-shape rates: the mix weighted
 * as a step weights it.
 */
import { readFileSync } from 'node:fs';
import { GraphBuilder, ops, productFlops, sizeAt, type MatrixProduct, type Value } from '@esm2/core';
import { compileGraph, encodeModel, modelProto, OnnxSession } from '@esm2/backend-onnx';

export interface ShapeRate {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** How many times a step multiplies this shape. */
  count: number;
  /** CPU µs per product. */
  micros: number;
  gflops: number;
}

export interface GemmRate {
  shapes: ShapeRate[];
  /** FLOP of the measured products in one step over the CPU time they take at the measured rates, GFLOP/s. */
  gflops: number;
  /** Seconds the measurement took (wall). */
  seconds: number;
}

/** FLOP one run of a shape's graph should do: a few ms of work, so the per-run overhead is small beside it. */
const RUN_FLOP = 3e8;
const MAX_COPIES = 256;
/** CPU time all shapes are timed for, shared by their share of the step's FLOP (each at least MIN_SHAPE_CPU_SECONDS), after a warm-up run each. */
const TOTAL_CPU_SECONDS = 2.5;
const MIN_SHAPE_CPU_SECONDS = 0.05;

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** The distinct 2-D products of `products` at `rows` rows, with how often each occurs. */
export function productShapes(products: readonly MatrixProduct[], rows: number): Omit<ShapeRate, 'micros' | 'gflops'>[] {
  const shapes = new Map<string, Omit<ShapeRate, 'micros' | 'gflops'>>();
  for (const p of products) {
    if (p.op !== 'matmul') continue;
    const [m, k, n] = [sizeAt(p.m, rows), sizeAt(p.k, rows), sizeAt(p.n, rows)];
    const key = `${m}x${k}x${n}:${p.transA}:${p.transB}`;
    const seen = shapes.get(key);
    if (seen) seen.count++;
    else shapes.set(key, { m, k, n, transA: p.transA, transB: p.transB, count: 1 });
  }
  return [...shapes.values()];
}

/** The ONNX model of `copies` products op(A)·op(B) of one shape, their first rows concatenated as the only output. */
function gemmModel(shape: { m: number; k: number; n: number; transA: boolean; transB: boolean }, copies: number): Uint8Array {
  const { m, k, n, transA, transB } = shape;
  const b = new GraphBuilder('gemm');
  const a = b.input('a', 'f32', transA ? [k, m] : [m, k]);
  const w = b.input('b', 'f32', transB ? [n, k] : [k, n]);
  const rows: Value[] = [];
  for (let c = 0; c < copies; c++) rows.push(b.op('slice', [b.op('matmul', [a, w], { transA, transB })], { axis: 0, start: 0, size: 1 }));
  b.output('rows', rows.length === 1 ? rows[0]! : ops.concat(b, rows, 0));
  return encodeModel(modelProto(compileGraph(b.build(), new Map())));
}

/** Times each of `shapes` with onnxruntime on one thread, spinning off. */
export async function measureGemmRate(shapes: readonly Omit<ShapeRate, 'micros' | 'gflops'>[]): Promise<GemmRate> {
  const start = performance.now();
  let seed = 1;
  const random = (length: number) => Float32Array.from({ length }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
  const out: ShapeRate[] = [];
  const stepFlop = shapes.reduce((s, p) => s + p.count * 2 * p.m * p.k * p.n, 0);
  for (const shape of shapes) {
    const { m, k, n, transA, transB } = shape;
    const flop = 2 * m * k * n;
    const copies = Math.max(1, Math.min(MAX_COPIES, Math.round(RUN_FLOP / flop)));
    // Optimizations off: common-subexpression elimination would merge the copies into one product.
    const session = await OnnxSession.load(gemmModel(shape, copies), { threads: 1, spinning: false, graphOptimizationLevel: 'disabled' });
    const feeds = { a: { shape: transA ? [k, m] : [m, k], data: random(m * k) }, b: { shape: transB ? [n, k] : [k, n], data: random(k * n) } };
    await session.run(feeds);
    const budget = Math.max(MIN_SHAPE_CPU_SECONDS, (TOTAL_CPU_SECONDS * shape.count * flop) / stepFlop);
    let runs = 0;
    const cpu = process.cpuUsage();
    while (runs < 3 || cpuSeconds(cpu) < budget) {
      await session.run(feeds);
      runs++;
    }
    const seconds = cpuSeconds(cpu);
    await session.release();
    const micros = (seconds * 1e6) / (runs * copies);
    out.push({ ...shape, micros, gflops: flop / micros / 1e3 });
  }
  const flop = out.reduce((s, r) => s + r.count * 2 * r.m * r.k * r.n, 0);
  const micros = out.reduce((s, r) => s + r.count * r.micros, 0);
  return { shapes: out, gflops: flop / micros / 1e3, seconds: (performance.now() - start) / 1000 };
}

/** FLOP per step of the 2-D products `measured` covers, and of the rest (batched products: pairwise dots). */
export function measuredShare(products: readonly MatrixProduct[], rows: number): { measured: number; other: number } {
  let measured = 0;
  let other = 0;
  for (const p of products) {
    if (p.op === 'matmul') measured += productFlops(p, rows);
    else other += productFlops(p, rows);
  }
  return { measured, other };
}

export interface FmaPeak {
  flopPerCycle: number;
  /** What the FLOP per cycle assumes. */
  units: string;
  ghz: number;
  /** Where the clock came from. */
  clock: string;
  gflops: number;
}

/**
 * The theoretical fp32 FMA peak of one core, an estimate: FLOP per cycle
 * from the widest vector FMA the flags name (two FMA units assumed: AVX-512
 * 2 × 16 lanes × 2, AVX2 + FMA 2 × 8 × 2; AVX without FMA a 8-lane add and
 * multiply; else SSE), times the maximum clock cpufreq gives (lscpu's CPU
 * max MHz), else /proc/cpuinfo's `cpu MHz` (the current clock, which a VM reports as the
 * nominal one). Undefined when /proc/cpuinfo cannot be read.
 */
export function fmaPeakEstimate(): FmaPeak | undefined {
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/));
  const [flopPerCycle, units] = flags.has('avx512f')
    ? [64, 'AVX-512: 2 FMA units × 16 lanes × 2']
    : flags.has('avx2') && flags.has('fma')
      ? [32, 'AVX2 + FMA: 2 FMA units × 8 lanes × 2']
      : flags.has('avx')
        ? [16, 'AVX: one 8-lane add + one 8-lane multiply']
        : [8, 'SSE: one 4-lane add + one 4-lane multiply'];
  const maxMhz = cpufreqMaxMhz();
  const currentMhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  const [mhz, clock] = maxMhz !== undefined ? [maxMhz, 'cpufreq cpuinfo_max_freq'] : Number.isFinite(currentMhz) && currentMhz > 0 ? [currentMhz, '/proc/cpuinfo cpu MHz'] : [undefined, ''];
  if (mhz === undefined) return undefined;
  return { flopPerCycle, units, ghz: mhz / 1000, clock, gflops: (flopPerCycle * mhz) / 1000 };
}

function cpufreqMaxMhz(): number | undefined {
  try {
    // kHz; what lscpu prints as CPU max MHz. Absent on VMs without cpufreq.
    const khz = Number(readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', 'utf8').trim());
    return Number.isFinite(khz) && khz > 0 ? khz / 1000 : undefined;
  } catch {
    return undefined;
  }
}
