import { sizeOf } from '../../ir/shape.js';

/** Interpreter values: f32 math is done in f64 so the oracle is more precise than any backend. */
export interface Val {
  shape: number[];
  data: Float64Array | Int32Array;
}

export class InterpretError extends Error {
  override name = 'InterpretError';
}

export const f64 = (v: Val): Float64Array => v.data as Float64Array;

export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Elementwise binary op with numpy broadcasting (shapes already checked by typecheck). */
export function broadcast(a: Val, b: Val, f: (x: number, y: number) => number): Val {
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

export function map(x: Val, f: (v: number) => number): Val {
  const src = f64(x);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]!);
  return { shape: [...x.shape], data: out };
}

/** Offset of row `id` of a [V, D] table; an id outside [0, V) is an error naming the node. */
export function rowOf(table: Val, id: number, node: { id: string; op: string }, row: number): number {
  const vocab = table.shape[0]!;
  if (!Number.isInteger(id) || id < 0 || id >= vocab) {
    throw new InterpretError(`node ${node.id} (${node.op}): id ${id} at row ${row} is outside the table's ${vocab} rows`);
  }
  return id * table.shape[1]!;
}

export const scalar = (v: number): Val => ({ shape: [], data: Float64Array.of(v) });
