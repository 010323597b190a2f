import * as tf from '@tensorflow/tfjs';
import { symmetricPairIndex, upperTrianglePairs, type Dim, type Node, type OpAttrs, type OpName } from '@esm2/core';

/**
 * How one IR op becomes tfjs ops. Lowerings are pure tensor functions:
 * they run inside the engine's tidy/gradient scopes and must not keep or
 * dispose anything themselves. Backward ops (reluGrad, scatterAdd…) are
 * lowered too, so any IR graph — gradient graphs included — compiles, even
 * though the engine differentiates the forward graph with tfjs itself.
 */
export type Lowering<O extends OpName> = (inputs: tf.Tensor[], attrs: OpAttrs[O], node: Node<O>) => tf.Tensor;

/** The batch dim resolves to -1: a graph has at most one, so tfjs infers it. */
const shapeOf = (dims: readonly Dim[]): number[] => dims.map((d) => (d === 'batch' ? -1 : d));

/** Ids < 0 are padding: they read row 0 and are masked out afterwards. */
function paddingMask(ids: tf.Tensor): { safe: tf.Tensor; mask: tf.Tensor } {
  const keep = tf.greaterEqual(ids, 0);
  return { safe: tf.where(keep, ids, tf.zerosLike(ids)), mask: tf.cast(keep, 'float32') };
}

/** Per-id weight of a pooled row: 1 for sum, 1/count for mean (count 0 → weights 0 anyway). */
function poolWeights(mask: tf.Tensor, mode: 'sum' | 'mean'): tf.Tensor {
  if (mode === 'sum') return mask;
  return tf.div(mask, tf.maximum(tf.sum(mask, 1, true), 1));
}

/** sum(w·x)/sum(w), 0 when sum(w) ≤ 0; the divisor is made safe so the unused branch has no NaN gradient. */
function safeRatio(num: tf.Tensor, den: tf.Tensor): tf.Tensor {
  const ok = tf.greater(den, 0);
  return tf.where(ok, tf.div(num, tf.where(ok, den, tf.onesLike(den))), tf.zerosLike(num));
}

/** Gradient of pairwiseDot: the symmetric [n, F, F] matrix of dy (zero diagonal: a zero column appended to dy), times x. */
function pairwiseDotGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const f = x.shape[1]!;
  const full = tf.gather(tf.pad(dy, [[0, 0], [0, 1]]), tf.tensor1d(symmetricPairIndex(f), 'int32'), 1);
  return tf.matMul(tf.reshape<tf.Rank.R3>(full, [-1, f, f]), x);
}

/**
 * Batched Gram matrix x·xᵀ [n, F, F], flattened, then the upper triangle's
 * cells. Its gradient is pairwiseDotGrad's: tfjs's own gradient of a gather
 * along axis 1 (transposes and a segment sum) measured 4.5 s per ESM2 step
 * on the cpu backend, against ~30 ms for this.
 */
const pairwiseDot = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  const f = x.shape[1]!;
  const gram = tf.matMul(x, x, false, true);
  const cells = upperTrianglePairs(f).map(([i, j]) => i * f + j);
  return { value: tf.gather(tf.reshape(gram, [-1, f * f]), tf.tensor1d(cells, 'int32'), 1), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => pairwiseDotGrad(dy, saved!) };
});

const lowerings = {
  gather: ([table, ids]) => tf.gather(table!, ids!),
  pooledGather: ([table, ids], attrs) => {
    const [n, len] = ids!.shape as [number, number];
    const dim = table!.shape[1]!;
    const { safe, mask } = paddingMask(ids!);
    const rows = tf.reshape(tf.gather(table!, tf.reshape(safe, [-1])), [n, len, dim]);
    return tf.sum(tf.mul(rows, tf.expandDims(poolWeights(mask, attrs.mode), 2)), 1);
  },
  concat: (inputs, attrs) => tf.concat(inputs, attrs.axis),
  matmul: ([a, b], attrs) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, attrs.transA ?? false, attrs.transB ?? false),
  add: ([a, b]) => tf.add(a!, b!),
  sub: ([a, b]) => tf.sub(a!, b!),
  mul: ([a, b]) => tf.mul(a!, b!),
  oneMinus: ([x]) => tf.sub(1, x!),
  relu: ([x]) => tf.relu(x!),
  sigmoid: ([x]) => tf.sigmoid(x!),
  tanh: ([x]) => tf.tanh(x!),
  // clipByValue's gradient is zero outside the range: the clip has no slope, as in bceGrad.
  // 1 − p is clipped itself, as the onnx and torch lowerings do: 1 − clip(p) rounds in f32 (1 − (1 − 1e-7)
  // is 1.19e-7 there), so at the clip log(1 − q) was off by log 1.19 from the interpreter's exact f64 clip.
  bce: ([p, y], attrs) => {
    const [lo, hi] = [attrs.eps, 1 - attrs.eps];
    const logQ = tf.log(tf.clipByValue(p!, lo, hi));
    const logNotQ = tf.log(tf.clipByValue(tf.sub(1, p!), lo, hi));
    return tf.neg(tf.add(tf.mul(y!, logQ), tf.mul(tf.sub(1, y!), logNotQ)));
  },
  mean: ([x]) => (x!.size > 0 ? tf.mean(x!) : tf.scalar(0)),
  weightedMean: ([x, w]) => safeRatio(tf.sum(tf.mul(x!, w!)), tf.sum(w!)),
  weightedSum: (inputs, attrs) => tf.addN(inputs.map((x, i) => tf.mul(x, attrs.weights[i]!))),
  reshape: ([x], attrs) => tf.reshape(x!, shapeOf(attrs.shape)),
  constant: (_inputs, attrs) => tf.scalar(attrs.value),
  pairwiseDot: ([x]) => pairwiseDot(x!),
  reluGrad: ([dy, x]) => tf.where(tf.greater(x!, 0), dy!, tf.zerosLike(dy!)),
  bceGrad: ([dy, p, y], attrs) => {
    const inside = tf.logicalAnd(tf.greaterEqual(p!, attrs.eps), tf.lessEqual(p!, 1 - attrs.eps));
    const slope = tf.div(tf.mul(dy!, tf.sub(p!, y!)), tf.mul(p!, tf.sub(1, p!)));
    return tf.where(inside, slope, tf.zerosLike(slope));
  },
  meanGrad: ([dy, x]) => tf.mul(tf.onesLike(x!), x!.size > 0 ? tf.div(dy!, x!.size) : 0),
  weightedMeanGrad: ([dy, w]) => tf.mul(w!, safeRatio(dy!, tf.sum(w!))),
  sumTo: ([x], attrs) => {
    const rank = x!.rank;
    const lead = rank - attrs.shape.length;
    // Sum the leading extra dims and every target dim of size 1 that x broadcast over.
    const axes: number[] = [];
    for (let d = 0; d < rank; d++) {
      const target = d < lead ? undefined : attrs.shape[d - lead];
      if (d < lead || (target === 1 && x!.shape[d] !== 1)) axes.push(d);
    }
    const summed = axes.length > 0 ? tf.sum(x!, axes, true) : x!;
    return tf.reshape(summed, shapeOf(attrs.shape));
  },
  slice: ([x], attrs) => {
    const begin = x!.shape.map((_, d) => (d === attrs.axis ? attrs.start : 0));
    const size = x!.shape.map((n, d) => (d === attrs.axis ? attrs.size : n));
    return tf.slice(x!, begin, size);
  },
  scatterAdd: ([ids, dy], attrs) => {
    const { safe, mask } = paddingMask(ids!);
    return tf.unsortedSegmentSum(tf.mul(dy!, tf.expandDims(mask, 1)), safe as tf.Tensor1D, attrs.rows);
  },
  pooledScatterAdd: ([ids, dy], attrs) => {
    const [n, len] = ids!.shape as [number, number];
    const dim = dy!.shape[1]!;
    const { safe, mask } = paddingMask(ids!);
    const spread = tf.mul(tf.expandDims(dy!, 1), tf.expandDims(poolWeights(mask, attrs.mode), 2)); // [n, L, D]
    return tf.unsortedSegmentSum(tf.reshape(spread, [n * len, dim]), tf.reshape<tf.Rank.R1>(safe, [-1]), attrs.rows);
  },
  pairwiseDotGrad: ([dy, x]) => pairwiseDotGrad(dy!, x!),
  sqrt: ([x]) => tf.sqrt(x!),
  div: ([a, b]) => tf.div(a!, b!),
  sum: ([x]) => tf.sum(x!),
  maximum: ([a, b]) => tf.maximum(a!, b!),
} satisfies { [O in OpName]: Lowering<O> };

/** Applies the lowering of `node` to its (already lowered) inputs. */
export function lowerNode(node: Node, inputs: tf.Tensor[]): tf.Tensor {
  const lower = lowerings[node.op] as Lowering<OpName>;
  return lower(inputs, node.attrs, node);
}
