import type { OptimizerConfig } from '../engine.js';
import type { HostTensor } from '../ir/tensor.js';
import { adamRange, adamStep, clipScale } from './adam.js';
import type { GraphCompiler } from './compiler.js';
import { shardedStepNames as S, type ShardedStep } from './sharded-step.js';
import { trainStepNames as N } from './train-step.js';

/**
 * Dense parameters and Adam's moments as three flat vectors (TrainStep's
 * layout). With workers they sit on one SharedArrayBuffer where the
 * platform has it, so worker threads step them in place and the engine
 * reads them without a message.
 */
export interface DenseState {
  params: Float32Array;
  first: Float32Array;
  second: Float32Array;
}

/** `bytes` of memory, shared between threads when asked and the platform has SharedArrayBuffer. */
export function memory(bytes: number, shared: boolean): ArrayBufferLike {
  return shared && typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** Three zeroed vectors of `n` values, on shared memory when `shared` and the platform has SharedArrayBuffer. */
export function denseState(n: number, shared = false): DenseState {
  const m = memory(3 * n * 4, shared);
  return { params: new Float32Array(m, 0, n), first: new Float32Array(m, n * 4, n), second: new Float32Array(m, 2 * n * 4, n) };
}

/** What one shard's gradient graph gives the host: its share of the losses, and (clipping) Σ squares of its rows gradients. */
export interface ShardGradients {
  losses: Record<string, number>;
  rowsSquares: number;
}

/**
 * Runs the sharded step (ShardedStep) on its shards concurrently and steps
 * the dense state it was made with: per step, each shard's gradient graph
 * on its rows, then Adam on the sum of their dense gradients (clipped as
 * the single-graph step clips). `gradients` settles when every shard's
 * rows gradients are in the given buffers, so the host can fold them into
 * its tables while `applied` (the clip factor used, 1 without clipping) is
 * still pending; the next step may start only after `applied`.
 */
export interface ShardPool {
  /**
   * Whether the pool looks up the embedding rows itself, from the tables it
   * was made with (shared memory), so the shares carry each lookup's ids
   * (its `ids` input) instead of the gathered rows.
   */
  readonly gathers: boolean;
  step(
    /** One per shard: its rows of every batched input (the lookups' ids instead of their rows when the pool gathers) and the batch's denominators; not the dense parameters. */
    shares: Record<string, HostTensor>[],
    /** Per shard, the buffers its rows gradients go into (by rows input). */
    rowsGrads: Record<string, Float32Array>[],
    /** The 1-based step count (Adam's bias corrections). */
    t: number,
  ): { gradients: Promise<ShardGradients[]>; applied: Promise<number> };
  release(): void;
}

/** Makes a pool of `workers` for a sharded step over the engine's dense state and embedding tables' weights (by table name; on shared memory where the platform has it). */
export type ShardPoolFactory = (step: ShardedStep, state: DenseState, optimizer: OptimizerConfig, workers: number, tables: ReadonlyMap<string, Float32Array>) => Promise<ShardPool>;

/** [lo, hi) of the flat dense vectors that worker `k` of `n` steps. */
export function denseRange(flatSize: number, k: number, n: number): [number, number] {
  return [Math.floor((k * flatSize) / n), Math.floor(((k + 1) * flatSize) / n)];
}

/** Σ squares over [lo, hi) of the shards' summed dense gradient (Σ in shard order): this range's part of the global norm. */
export function shardSquares(grads: readonly Float32Array[], lo: number, hi: number): number {
  let squares = 0;
  for (let i = lo; i < hi; i++) {
    let g = 0;
    for (const shard of grads) g += shard[i]!;
    squares += g * g;
  }
  return squares;
}

/**
 * Adam on [lo, hi) of the dense state, in place, from the shards' dense
 * gradients summed in shard order and scaled by the clip factor `scale`
 * (clipScale of the global Σ squares; 1 without clipping): adam.ts's
 * adamRange, which sums and steps in one pass over the range.
 */
export function applyDenseRange(state: DenseState, grads: readonly Float32Array[], lo: number, hi: number, t: number, optimizer: OptimizerConfig, scale: number): void {
  adamRange(state.params, state.first, state.second, grads, lo, hi - lo, lo, scale, adamStep(optimizer, t));
}

/**
 * The pool on this thread: one runner of the gradient graph per shard from
 * `compiler` (the interpreter, or any backend's runners), run side by side
 * as far as the runners allow, then the dense update over the whole vector
 * here. The reference for pools on threads.
 */
export function runnerPool(compiler: GraphCompiler): ShardPoolFactory {
  return async (step, state, optimizer, workers) => {
    const runners = await Promise.all(Array.from({ length: workers }, () => compiler(step.gradient)));
    const grads = Array.from({ length: workers }, () => new Float32Array(step.flatSize));
    const outputs = Object.keys(step.gradient.outputs);
    return {
      gathers: false,
      step(shares, rowsGrads, t) {
        const gradients = Promise.all(
          shares.map(async (share, k) => {
            const into: Record<string, Float32Array> = { ...rowsGrads[k], [S.denseGrad]: grads[k]! };
            const result = await runners[k]!.run({ ...share, [N.params]: { shape: [step.flatSize], data: state.params } }, outputs, into);
            return { losses: Object.fromEntries(step.losses.map((l) => [l, result[l]![0]!])), rowsSquares: result[S.rowsSquares]?.[0] ?? 0 };
          }),
        );
        const applied = gradients.then((results) => {
          // Workers without a share of a small batch add nothing.
          for (let k = shares.length; k < workers; k++) grads[k]!.fill(0);
          const scale = step.clips ? clipScale(shardSquares(grads, 0, step.flatSize) + results.reduce((a, r) => a + r.rowsSquares, 0), optimizer.clipNorm) : 1;
          applyDenseRange(state, grads, 0, step.flatSize, t, optimizer, scale);
          return scale;
        });
        return { gradients, applied };
      },
      release: () => {
        for (const r of runners) r.release?.();
      },
    };
  };
}
