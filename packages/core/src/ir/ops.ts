import { broadcastDims, formatType, sameDims } from './shape.js';
import type { Dim, OpAttrs, OpName, TensorType } from './types.js';

/** Infers an op's result type, or returns a message saying what is wrong. */
type TypeRule<O extends OpName> = (inputs: TensorType[], attrs: OpAttrs[O]) => TensorType | string;

const f32 = (shape: Dim[]): TensorType => ({ dtype: 'f32', shape });

function arity(inputs: TensorType[], n: number): string | undefined {
  return inputs.length === n ? undefined : `expects ${n} input(s), got ${inputs.length}`;
}

function allF32(inputs: TensorType[]): string | undefined {
  const bad = inputs.findIndex((t) => t.dtype !== 'f32');
  return bad < 0 ? undefined : `input ${bad} must be f32, got ${formatType(inputs[bad]!)}`;
}

function unary(inputs: TensorType[]): TensorType | string {
  return arity(inputs, 1) ?? allF32(inputs) ?? f32([...inputs[0]!.shape]);
}

function elementwise(inputs: TensorType[]): TensorType | string {
  const err = arity(inputs, 2) ?? allF32(inputs);
  if (err) return err;
  const [a, b] = inputs as [TensorType, TensorType];
  const shape = broadcastDims(a.shape, b.shape);
  return shape ? f32(shape) : `cannot broadcast ${formatType(a)} with ${formatType(b)}`;
}

/** x f32[n, F, D] with static F ≥ 2 and D: the operand of pairwiseDot; returns F or a message. */
function pairRows(x: TensorType): number | string {
  const [, f, d] = x.shape;
  if (x.dtype !== 'f32' || x.shape.length !== 3 || typeof f !== 'number' || typeof d !== 'number') return `x must be f32[n,F,D] with static F and D, got ${formatType(x)}`;
  return f >= 2 ? f : `x must have at least 2 rows to pair, got ${formatType(x)}`;
}

/** Number of pairs i < j among f rows. */
export const pairCount = (f: number): number => (f * (f - 1)) / 2;

/** The pairs [i, j], i < j, of f rows in pairwiseDot's output order (row-major upper triangle). */
export function upperTrianglePairs(f: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < f; i++) for (let j = i + 1; j < f; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * For each cell (i, j) of an f×f matrix, row-major, the index of pair
 * {i, j} in pairwiseDot's output, and pairCount(f) on the diagonal: how
 * lowerings spread a pairwise gradient back into a symmetric matrix (gather
 * from the gradient with a zero column appended).
 */
export function symmetricPairIndex(f: number): number[] {
  const index = new Array<number>(f * f).fill(pairCount(f));
  upperTrianglePairs(f).forEach(([i, j], p) => {
    index[i * f + j] = p;
    index[j * f + i] = p;
  });
  return index;
}

function scalar(t: TensorType): boolean {
  return t.shape.length === 0;
}

export const typeRules = {
  gather: (inputs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [table, ids] = inputs as [TensorType, TensorType];
    if (table.dtype !== 'f32' || table.shape.length !== 2) return `table must be f32[V,D], got ${formatType(table)}`;
    if (ids.dtype !== 'i32' || ids.shape.length !== 1) return `ids must be i32[n], got ${formatType(ids)}`;
    return f32([ids.shape[0]!, table.shape[1]!]);
  },
  pooledGather: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [table, ids] = inputs as [TensorType, TensorType];
    if (attrs.mode !== 'sum' && attrs.mode !== 'mean') return `mode must be 'sum' or 'mean'`;
    if (table.dtype !== 'f32' || table.shape.length !== 2) return `table must be f32[V,D], got ${formatType(table)}`;
    if (ids.dtype !== 'i32' || ids.shape.length !== 2) return `ids must be i32[n,L], got ${formatType(ids)}`;
    return f32([ids.shape[0]!, table.shape[1]!]);
  },
  concat: (inputs, attrs) => {
    if (inputs.length < 1) return 'expects at least 1 input';
    const err = allF32(inputs);
    if (err) return err;
    const rank = inputs[0]!.shape.length;
    if (!Number.isInteger(attrs.axis) || attrs.axis < 0 || attrs.axis >= rank) return `axis ${attrs.axis} out of range for rank ${rank}`;
    let along = 0;
    for (const [i, t] of inputs.entries()) {
      if (t.shape.length !== rank) return `input ${i} has rank ${t.shape.length}, expected ${rank}`;
      for (let d = 0; d < rank; d++) {
        if (d !== attrs.axis && t.shape[d] !== inputs[0]!.shape[d]) {
          return `input ${i} is ${formatType(t)}, incompatible with ${formatType(inputs[0]!)} off axis ${attrs.axis}`;
        }
      }
      const size = t.shape[attrs.axis]!;
      if (size === 'batch') return `cannot concat along the batch dimension`;
      along += size;
    }
    const shape = [...inputs[0]!.shape];
    shape[attrs.axis] = along;
    return f32(shape);
  },
  matmul: (inputs, attrs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [a, b] = inputs as [TensorType, TensorType];
    if (a.shape.length !== 2 || b.shape.length !== 2) return `operands must be 2-D, got ${formatType(a)} and ${formatType(b)}`;
    const [m, ka] = attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) return `inner dimensions differ: ${formatType(a)}${attrs.transA ? 'ᵀ' : ''} × ${formatType(b)}${attrs.transB ? 'ᵀ' : ''}`;
    return f32([m, n]);
  },
  add: elementwise,
  sub: elementwise,
  mul: elementwise,
  oneMinus: unary,
  relu: unary,
  sigmoid: unary,
  tanh: unary,
  bce: (inputs, attrs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [p, y] = inputs as [TensorType, TensorType];
    if (!(attrs.eps > 0 && attrs.eps < 0.5)) return `eps must be in (0, 0.5), got ${attrs.eps}`;
    if (!sameDims(p.shape, y.shape)) return `probabilities ${formatType(p)} and labels ${formatType(y)} differ in shape`;
    return f32([...p.shape]);
  },
  mean: (inputs) => arity(inputs, 1) ?? allF32(inputs) ?? f32([]),
  weightedMean: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [x, w] = inputs as [TensorType, TensorType];
    if (!sameDims(x.shape, w.shape)) return `values ${formatType(x)} and weights ${formatType(w)} differ in shape`;
    return f32([]);
  },
  weightedSum: (inputs, attrs) => {
    const err = allF32(inputs);
    if (err) return err;
    if (inputs.length === 0) return 'expects at least 1 input';
    if (attrs.weights.length !== inputs.length) return `has ${inputs.length} inputs but ${attrs.weights.length} weights`;
    if (!attrs.weights.every(Number.isFinite)) return `weights must be finite, got [${attrs.weights.join(',')}]`;
    const bad = inputs.findIndex((t) => !scalar(t));
    if (bad >= 0) return `input ${bad} must be a scalar, got ${formatType(inputs[bad]!)}`;
    return f32([]);
  },
  reshape: (inputs, attrs) => {
    const err = arity(inputs, 1);
    if (err) return err;
    const x = inputs[0]!;
    const batchIn = x.shape.filter((d) => d === 'batch').length;
    const batchOut = attrs.shape.filter((d) => d === 'batch').length;
    if (batchIn !== batchOut) return `batch dimension must be kept: ${formatType(x)} → [${attrs.shape.join(',')}]`;
    const fixed = (s: Dim[]) => s.reduce<number>((n, d) => (d === 'batch' ? n : n * d), 1);
    if (fixed(x.shape) !== fixed(attrs.shape)) return `element count differs: ${formatType(x)} → [${attrs.shape.join(',')}]`;
    return { dtype: x.dtype, shape: [...attrs.shape] };
  },
  constant: (inputs, attrs) => arity(inputs, 0) ?? (Number.isFinite(attrs.value) ? f32([]) : `value must be finite, got ${attrs.value}`),
  pairwiseDot: (inputs) => {
    const err = arity(inputs, 1);
    if (err) return err;
    const f = pairRows(inputs[0]!);
    return typeof f === 'string' ? f : f32([inputs[0]!.shape[0]!, pairCount(f)]);
  },
  reluGrad: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [dy, x] = inputs as [TensorType, TensorType];
    return sameDims(dy.shape, x.shape) ? f32([...x.shape]) : `gradient ${formatType(dy)} and input ${formatType(x)} differ in shape`;
  },
  bceGrad: (inputs, attrs) => {
    const err = arity(inputs, 3) ?? allF32(inputs);
    if (err) return err;
    const [dy, p, y] = inputs as [TensorType, TensorType, TensorType];
    if (!(attrs.eps > 0 && attrs.eps < 0.5)) return `eps must be in (0, 0.5), got ${attrs.eps}`;
    if (!sameDims(dy.shape, p.shape) || !sameDims(p.shape, y.shape)) {
      return `gradient ${formatType(dy)}, probabilities ${formatType(p)} and labels ${formatType(y)} differ in shape`;
    }
    return f32([...p.shape]);
  },
  meanGrad: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    return scalar(inputs[0]!) ? f32([...inputs[1]!.shape]) : `gradient must be a scalar, got ${formatType(inputs[0]!)}`;
  },
  weightedMeanGrad: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    return scalar(inputs[0]!) ? f32([...inputs[1]!.shape]) : `gradient must be a scalar, got ${formatType(inputs[0]!)}`;
  },
  sumTo: (inputs, attrs) => {
    const err = arity(inputs, 1) ?? allF32(inputs);
    if (err) return err;
    const x = inputs[0]!;
    const back = broadcastDims(attrs.shape, x.shape);
    if (!back || !sameDims(back, x.shape)) return `cannot sum ${formatType(x)} down to [${attrs.shape.join(',')}]`;
    return f32([...attrs.shape]);
  },
  slice: (inputs, attrs) => {
    const err = arity(inputs, 1) ?? allF32(inputs);
    if (err) return err;
    const x = inputs[0]!;
    const dim = x.shape[attrs.axis];
    if (dim === undefined) return `axis ${attrs.axis} out of range for ${formatType(x)}`;
    if (dim === 'batch') return 'cannot slice the batch dimension';
    if (!(Number.isInteger(attrs.start) && Number.isInteger(attrs.size) && attrs.start >= 0 && attrs.size > 0 && attrs.start + attrs.size <= dim)) {
      return `slice [${attrs.start}, ${attrs.start + attrs.size}) out of range for ${formatType(x)} axis ${attrs.axis}`;
    }
    const shape = [...x.shape];
    shape[attrs.axis] = attrs.size;
    return f32(shape);
  },
  scatterAdd: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [ids, dy] = inputs as [TensorType, TensorType];
    if (ids.dtype !== 'i32' || ids.shape.length !== 1) return `ids must be i32[n], got ${formatType(ids)}`;
    if (dy.dtype !== 'f32' || dy.shape.length !== 2 || dy.shape[0] !== ids.shape[0]) return `gradient must be f32[n,D] matching ids, got ${formatType(dy)}`;
    if (!(Number.isInteger(attrs.rows) && attrs.rows > 0)) return `rows must be a positive integer, got ${attrs.rows}`;
    return f32([attrs.rows, dy.shape[1]!]);
  },
  pooledScatterAdd: (inputs, attrs) => {
    const err = arity(inputs, 2);
    if (err) return err;
    const [ids, dy] = inputs as [TensorType, TensorType];
    if (ids.dtype !== 'i32' || ids.shape.length !== 2) return `ids must be i32[n,L], got ${formatType(ids)}`;
    if (dy.dtype !== 'f32' || dy.shape.length !== 2 || dy.shape[0] !== ids.shape[0]) return `gradient must be f32[n,D] matching ids, got ${formatType(dy)}`;
    if (attrs.mode !== 'sum' && attrs.mode !== 'mean') return `mode must be 'sum' or 'mean'`;
    if (!(Number.isInteger(attrs.rows) && attrs.rows > 0)) return `rows must be a positive integer, got ${attrs.rows}`;
    return f32([attrs.rows, dy.shape[1]!]);
  },
  pairwiseDotGrad: (inputs) => {
    const err = arity(inputs, 2) ?? allF32(inputs);
    if (err) return err;
    const [dy, x] = inputs as [TensorType, TensorType];
    const f = pairRows(x);
    if (typeof f === 'string') return f;
    if (!sameDims(dy.shape, [x.shape[0]!, pairCount(f)])) return `gradient must be f32[${String(x.shape[0])},${pairCount(f)}] for ${formatType(x)}, got ${formatType(dy)}`;
    return f32([...x.shape]);
  },
  sqrt: unary,
  div: elementwise,
  sum: (inputs) => arity(inputs, 1) ?? allF32(inputs) ?? f32([]),
  maximum: elementwise,
} satisfies { [O in OpName]: TypeRule<O> };
