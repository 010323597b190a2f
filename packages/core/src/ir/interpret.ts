import { concreteShape, sizeOf } from './shape.js';
import type { HostTensor } from './tensor.js';
import { typecheck } from './typecheck.js';
import type { Graph, Node, OpAttrs, OpName } from './types.js';
import { neededValues } from './prune.js';

/** Interpreter values: f32 math is done in f64 so the oracle is more precise than any backend. */
interface Val {
  shape: number[];
  data: Float64Array | Int32Array;
}

type Kernel<O extends OpName> = (inputs: Val[], attrs: OpAttrs[O], node: Node) => Val;

export class InterpretError extends Error {
  override name = 'InterpretError';
}

const f64 = (v: Val): Float64Array => v.data as Float64Array;

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Elementwise binary op with numpy broadcasting (shapes already checked by typecheck). */
function broadcast(a: Val, b: Val, f: (x: number, y: number) => number): Val {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  // A dim of 1 takes the other operand's (0 included: [0, 4] with a scalar is [0, 4], as numpy has it).
  const shape = sa.map((d, i) => (d === 1 ? sb[i]! : d));
  const out = new Float64Array(sizeOf(shape));
  const da = f64(a);
  const db = f64(b);
  if (da.length === out.length && db.length === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = f(da[i]!, db[i]!);
    return { shape, data: out };
  }
  const stA = strides(sa).map((s, i) => (sa[i] === 1 ? 0 : s));
  const stB = strides(sb).map((s, i) => (sb[i] === 1 ? 0 : s));
  const stO = strides(shape);
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    let rem = i;
    for (let d = 0; d < rank; d++) {
      const k = Math.floor(rem / stO[d]!);
      rem -= k * stO[d]!;
      ia += k * stA[d]!;
      ib += k * stB[d]!;
    }
    out[i] = f(da[ia]!, db[ib]!);
  }
  return { shape, data: out };
}

function map(x: Val, f: (v: number) => number): Val {
  const src = f64(x);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]!);
  return { shape: [...x.shape], data: out };
}

function rowOf(table: Val, id: number, node: Node, row: number): number {
  const vocab = table.shape[0]!;
  if (!Number.isInteger(id) || id < 0 || id >= vocab) {
    throw new InterpretError(`node ${node.id} (${node.op}): id ${id} at row ${row} is outside the table's ${vocab} rows`);
  }
  return id * table.shape[1]!;
}

const scalar = (v: number): Val => ({ shape: [], data: Float64Array.of(v) });

const kernels = {
  gather: ([table, ids], _attrs, node) => {
    const dim = table!.shape[1]!;
    const n = ids!.data.length;
    const out = new Float64Array(n * dim);
    const t = f64(table!);
    for (let i = 0; i < n; i++) {
      const base = rowOf(table!, ids!.data[i]!, node, i);
      for (let d = 0; d < dim; d++) out[i * dim + d] = t[base + d]!;
    }
    return { shape: [n, dim], data: out };
  },
  pooledGather: ([table, ids], attrs, node) => {
    const dim = table!.shape[1]!;
    const [n, len] = ids!.shape as [number, number];
    const out = new Float64Array(n * dim);
    const t = f64(table!);
    for (let i = 0; i < n; i++) {
      let count = 0;
      for (let j = 0; j < len; j++) {
        const id = ids!.data[i * len + j]!;
        if (id < 0) continue;
        const base = rowOf(table!, id, node, i);
        for (let d = 0; d < dim; d++) out[i * dim + d]! += t[base + d]!;
        count++;
      }
      if (attrs.mode === 'mean' && count > 0) for (let d = 0; d < dim; d++) out[i * dim + d]! /= count;
    }
    return { shape: [n, dim], data: out };
  },
  concat: (inputs, attrs) => {
    const axis = attrs.axis;
    const shape = [...inputs[0]!.shape];
    shape[axis] = inputs.reduce((s, v) => s + v.shape[axis]!, 0);
    const outer = sizeOf(shape.slice(0, axis));
    const innerOut = sizeOf(shape.slice(axis));
    const out = new Float64Array(outer * innerOut);
    let offset = 0;
    for (const v of inputs) {
      const inner = sizeOf(v.shape.slice(axis));
      const src = f64(v);
      for (let o = 0; o < outer; o++) out.set(src.subarray(o * inner, (o + 1) * inner), o * innerOut + offset);
      offset += inner;
    }
    return { shape, data: out };
  },
  matmul: ([a, b], attrs) => {
    const [ar, ac] = a!.shape as [number, number];
    const [br, bc] = b!.shape as [number, number];
    const [m, k] = attrs.transA ? [ac, ar] : [ar, ac];
    const n = attrs.transB ? br : bc;
    const A = f64(a!);
    const B = f64(b!);
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const av = attrs.transA ? A[p * ac + i]! : A[i * ac + p]!;
        if (av === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j]! += av * (attrs.transB ? B[j * bc + p]! : B[p * bc + j]!);
      }
    }
    return { shape: [m, n], data: out };
  },
  add: ([a, b]) => broadcast(a!, b!, (x, y) => x + y),
  sub: ([a, b]) => broadcast(a!, b!, (x, y) => x - y),
  mul: ([a, b]) => broadcast(a!, b!, (x, y) => x * y),
  oneMinus: ([x]) => map(x!, (v) => 1 - v),
  relu: ([x]) => map(x!, (v) => (v > 0 ? v : 0)),
  sigmoid: ([x]) => map(x!, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
  tanh: ([x]) => map(x!, Math.tanh),
  bce: ([p, y], attrs) =>
    broadcast(p!, y!, (pv, yv) => {
      const q = Math.min(Math.max(pv, attrs.eps), 1 - attrs.eps);
      return -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
    }),
  mean: ([x]) => {
    const d = f64(x!);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    return scalar(d.length > 0 ? s / d.length : 0);
  },
  weightedMean: ([x, w]) => {
    const dx = f64(x!);
    const dw = f64(w!);
    let num = 0;
    let den = 0;
    for (let i = 0; i < dx.length; i++) {
      num += dw[i]! * dx[i]!;
      den += dw[i]!;
    }
    return scalar(den > 0 ? num / den : 0);
  },
  weightedSum: (inputs, attrs) => scalar(inputs.reduce((s, v, i) => s + attrs.weights[i]! * f64(v)[0]!, 0)),
  reshape: ([x], attrs) => {
    const known = attrs.shape.reduce<number>((n, d) => (d === 'batch' ? n : n * d), 1);
    const shape = attrs.shape.map((d) => (d === 'batch' ? x!.data.length / known : d));
    return { shape, data: x!.data };
  },
  constant: (_inputs, attrs) => scalar(attrs.value),
  pairwiseDot: ([x]) => {
    const [n, f, d] = x!.shape as [number, number, number];
    const src = f64(x!);
    const pairs = (f * (f - 1)) / 2;
    const out = new Float64Array(n * pairs);
    for (let r = 0; r < n; r++) {
      let p = r * pairs;
      for (let i = 0; i < f; i++) {
        for (let j = i + 1; j < f; j++, p++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += src[(r * f + i) * d + k]! * src[(r * f + j) * d + k]!;
          out[p] = s;
        }
      }
    }
    return { shape: [n, pairs], data: out };
  },
  reluGrad: ([dy, x]) => broadcast(dy!, x!, (g, v) => (v > 0 ? g : 0)),
  bceGrad: ([dy, p, y], attrs) => {
    const [g, pd, yd] = [f64(dy!), f64(p!), f64(y!)];
    const out = new Float64Array(pd.length);
    for (let i = 0; i < out.length; i++) {
      const q = pd[i]!;
      if (q < attrs.eps || q > 1 - attrs.eps) continue;
      out[i] = (g[i]! * (q - yd[i]!)) / (q * (1 - q));
    }
    return { shape: [...p!.shape], data: out };
  },
  meanGrad: ([dy, x]) => {
    const n = x!.data.length;
    return { shape: [...x!.shape], data: new Float64Array(n).fill(n > 0 ? f64(dy!)[0]! / n : 0) };
  },
  weightedMeanGrad: ([dy, w]) => {
    const dw = f64(w!);
    let den = 0;
    for (let i = 0; i < dw.length; i++) den += dw[i]!;
    const scale = den > 0 ? f64(dy!)[0]! / den : 0;
    return { shape: [...w!.shape], data: dw.map((v) => v * scale) };
  },
  sumTo: ([x], attrs) => {
    const rank = x!.shape.length;
    const target = attrs.shape.map((d, i) => (d === 'batch' ? x!.shape[rank - attrs.shape.length + i]! : d));
    const padded = [...new Array<number>(rank - target.length).fill(1), ...target];
    const stX = strides(x!.shape);
    const stT = strides(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
    const out = new Float64Array(sizeOf(target));
    const src = f64(x!);
    for (let i = 0; i < src.length; i++) {
      let rem = i;
      let t = 0;
      for (let d = 0; d < rank; d++) {
        const k = Math.floor(rem / stX[d]!);
        rem -= k * stX[d]!;
        t += k * stT[d]!;
      }
      out[t]! += src[i]!;
    }
    return { shape: target, data: out };
  },
  slice: ([x], attrs) => {
    const shape = [...x!.shape];
    const outer = sizeOf(shape.slice(0, attrs.axis));
    const inner = sizeOf(shape.slice(attrs.axis + 1));
    const dim = shape[attrs.axis]!;
    shape[attrs.axis] = attrs.size;
    const src = f64(x!);
    const out = new Float64Array(sizeOf(shape));
    for (let o = 0; o < outer; o++) {
      const from = (o * dim + attrs.start) * inner;
      out.set(src.subarray(from, from + attrs.size * inner), o * attrs.size * inner);
    }
    return { shape, data: out };
  },
  scatterAdd: ([ids, dy], attrs, node) => {
    const dim = dy!.shape[1]!;
    const out = new Float64Array(attrs.rows * dim);
    const g = f64(dy!);
    const table = { shape: [attrs.rows, dim], data: out };
    for (let i = 0; i < ids!.data.length; i++) {
      const id = ids!.data[i]!;
      if (id < 0) continue;
      const base = rowOf(table, id, node, i);
      for (let d = 0; d < dim; d++) out[base + d]! += g[i * dim + d]!;
    }
    return table;
  },
  pooledScatterAdd: ([ids, dy], attrs, node) => {
    const dim = dy!.shape[1]!;
    const [n, len] = ids!.shape as [number, number];
    const out = new Float64Array(attrs.rows * dim);
    const g = f64(dy!);
    const table = { shape: [attrs.rows, dim], data: out };
    for (let i = 0; i < n; i++) {
      const row = (ids!.data as Int32Array).subarray(i * len, (i + 1) * len);
      let count = 0;
      for (const id of row) if (id >= 0) count++;
      const scale = attrs.mode === 'mean' && count > 0 ? 1 / count : 1;
      for (const id of row) {
        if (id < 0) continue;
        const base = rowOf(table, id, node, i);
        for (let d = 0; d < dim; d++) out[base + d]! += g[i * dim + d]! * scale;
      }
    }
    return table;
  },
  pairwiseDotGrad: ([dy, x]) => {
    const [n, f, d] = x!.shape as [number, number, number];
    const src = f64(x!);
    const g = f64(dy!);
    const pairs = (f * (f - 1)) / 2;
    const out = new Float64Array(src.length);
    for (let r = 0; r < n; r++) {
      let p = r * pairs;
      for (let i = 0; i < f; i++) {
        for (let j = i + 1; j < f; j++, p++) {
          const gp = g[p]!;
          for (let k = 0; k < d; k++) {
            out[(r * f + i) * d + k]! += gp * src[(r * f + j) * d + k]!;
            out[(r * f + j) * d + k]! += gp * src[(r * f + i) * d + k]!;
          }
        }
      }
    }
    return { shape: [n, f, d], data: out };
  },
  sqrt: ([x]) => map(x!, Math.sqrt),
  div: ([a, b]) => broadcast(a!, b!, (x, y) => x / y),
  sum: ([x]) => {
    const d = f64(x!);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    return scalar(s);
  },
  maximum: ([a, b]) => broadcast(a!, b!, (x, y) => Math.max(x, y)),
} satisfies { [O in OpName]: Kernel<O> };

export interface InterpretOptions {
  /** Names of outputs (graph outputs) to return; all outputs when omitted. */
  outputs?: string[];
}

function batchSizeOf(graph: Graph, feeds: Record<string, HostTensor>): number {
  let batch: number | undefined;
  for (const input of graph.inputs) {
    const axis = input.type.shape.indexOf('batch');
    const feed = feeds[input.name];
    if (axis < 0 || !feed) continue;
    const n = feed.shape[axis]!;
    if (batch !== undefined && n !== batch) {
      throw new InterpretError(`input '${input.name}' has batch size ${n}, others have ${batch}`);
    }
    batch = n;
  }
  return batch ?? 1;
}

function toVal(name: string, t: HostTensor, expected: number[], dtype: 'f32' | 'i32'): Val {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new InterpretError(`'${name}' has shape [${t.shape.join(',')}], the graph expects [${expected.join(',')}]`);
  }
  if (t.data.length !== sizeOf(expected)) {
    throw new InterpretError(`'${name}' has ${t.data.length} elements for shape [${expected.join(',')}]`);
  }
  if (dtype === 'i32') return { shape: expected, data: t.data instanceof Int32Array ? t.data : Int32Array.from(t.data) };
  return { shape: expected, data: t.data instanceof Float64Array ? t.data : Float64Array.from(t.data) };
}

/**
 * Evaluates a graph on host arrays. It is the reference every backend is
 * tested against, so it favours clarity and f64 precision over speed.
 * Inputs not needed for the requested outputs may be left out of `feeds`.
 */
export function interpret(
  graph: Graph,
  params: ReadonlyMap<string, Float32Array | Float64Array>,
  feeds: Record<string, HostTensor>,
  options: InterpretOptions = {},
): Record<string, HostTensor> {
  typecheck(graph);
  const batch = batchSizeOf(graph, feeds);
  const wanted = options.outputs ?? Object.keys(graph.outputs);
  const needed = neededValues(graph, wanted.map((o) => {
    const ref = graph.outputs[o];
    if (ref === undefined) throw new InterpretError(`graph '${graph.name}' has no output '${o}'`);
    return ref;
  }));
  const env = new Map<string, Val>();
  for (const input of graph.inputs) {
    if (!needed.has(input.name)) continue;
    const feed = feeds[input.name];
    if (!feed) throw new InterpretError(`missing input '${input.name}'`);
    env.set(input.name, toVal(input.name, feed, concreteShape(input.type.shape, batch), input.type.dtype));
  }
  for (const param of graph.params) {
    if (!needed.has(param.name)) continue;
    const data = params.get(param.name);
    if (!data) throw new InterpretError(`missing parameter '${param.name}'`);
    const shape = concreteShape(param.type.shape, batch);
    env.set(param.name, toVal(param.name, { shape, data }, shape, 'f32'));
  }
  for (const node of graph.nodes) {
    if (!needed.has(node.id)) continue;
    const inputs = node.inputs.map((n) => env.get(n)!);
    const kernel = kernels[node.op] as Kernel<OpName>;
    env.set(node.id, kernel(inputs, node.attrs, node));
  }
  const result: Record<string, HostTensor> = {};
  for (const name of wanted) result[name] = env.get(graph.outputs[name]!)!;
  return result;
}
