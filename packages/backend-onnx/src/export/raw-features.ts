import type { RawFeatureEncoding } from '@esm2/core';
import { attr } from '../lower/attrs.js';
import { doubleTensor } from '../lower/tensors.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../proto/types.js';

/** The ONNX-ML operator set LabelEncoder comes from (string keys → int64 values since version 2). */
export const ML_DOMAIN = 'ai.onnx.ml';
export const ML_OPSET_VERSION = 2;

/**
 * What the export reads of one field's scoring-time encoding: core's
 * RawFeatureEncoding (vocabulary ids 1..n with 0 for unseen and missing
 * values, lists padded with −1, hash buckets, or x ↦ (x − shift) · scale)
 * without the source column and list separator, which are the scorer's
 * business, not the graph's.
 */
export type RawFieldEncoding = RawFeatureEncoding extends infer E ? (E extends unknown ? Omit<E, 'column' | 'separator'> : never) : never;

/** A raw input of the exported graph, as recorded in metadata `esm2.raw_features`. */
export interface RawInputInfo {
  name: string;
  kind: RawFieldEncoding['kind'];
  /** ONNX element type: string for categories, float for numerics. */
  type: 'string' | 'float';
  /** 'batch' is the symbolic batch dimension. */
  shape: (number | 'batch')[];
}

/** Value names of the id tensors the encoders produce; `%` keeps them apart from field names. */
const idName = (field: string) => `%raw/${field}`;

/** Why a field cannot be encoded by standard ONNX operators, or undefined when it can. */
function refusal(e: RawFieldEncoding): string | undefined {
  if (e.kind !== 'numeric' && e.encoding.kind === 'hash') {
    return (
      `field '${e.name}' is hash-encoded (${e.encoding.buckets} buckets): standard ONNX has no string hash operator, ` +
      'so its bucket ids cannot be computed inside the graph'
    );
  }
  return undefined;
}

/**
 * The encoders as ONNX nodes in front of an id-input scoring graph: each
 * feature input `f` becomes a raw input of the same name, and the graph's
 * former input is computed from it.
 * - categorical: string `[batch]` → ai.onnx.ml LabelEncoder (vocabulary →
 *   ids 1..n, anything else, "" included, → the OOV id 0) → int64 ids;
 * - multi-valued: string `[batch, maxLength]`, the row's items in order and
 *   "" after the last → LabelEncoder as above with "" → the padding id −1;
 * - numeric: float `[batch]` → (x − shift) · scale in double precision, as
 *   the encoders compute it, → float. NaN passes through (the encoders
 *   refuse a missing number; a graph cannot refuse a row).
 * A field standard ONNX cannot encode (hash buckets) is refused: the error
 * names every such field and why.
 */
export function withRawFeatureInputs(graph: GraphProto, encodings: readonly RawFieldEncoding[]): { graph: GraphProto; inputs: RawInputInfo[] } {
  const byName = new Map(encodings.map((e) => [e.name, e]));
  const refused: string[] = [];
  for (const input of graph.input) {
    const e = byName.get(input.name);
    if (!e) throw new Error(`--raw-features: the model input '${input.name}' has no encoder`);
    const why = refusal(e);
    if (why) refused.push(why);
  }
  if (refused.length > 0) {
    throw new Error(`--raw-features cannot be exported: ${refused.join('; ')}. Export without --raw-features (the model then takes encoded ids, which esm2-score computes)`);
  }
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const inputs: ValueInfoProto[] = [];
  const infos: RawInputInfo[] = [];
  for (const input of graph.input) {
    const e = byName.get(input.name)!;
    const ids = idName(e.name);
    const dims = input.type.tensor_type.shape.dim;
    const node = (op: string, ins: string[], out: string, attributes = [] as NonNullable<NodeProto['attribute']>, domain?: string): string => {
      nodes.push({ input: ins, output: [out], name: out, op_type: op, ...(domain ? { domain } : {}), ...(attributes.length ? { attribute: attributes } : {}) });
      return out;
    };
    if (e.kind === 'numeric') {
      const x = node('Cast', [e.name], `${ids}/f64`, [attr.int('to', DataType.DOUBLE)]);
      initializers.push(doubleTensor(`${ids}/shift`, [], Float64Array.of(e.shift)), doubleTensor(`${ids}/scale`, [], Float64Array.of(e.scale)));
      const shifted = node('Sub', [x, `${ids}/shift`], `${ids}/shifted`);
      const scaled = node('Mul', [shifted, `${ids}/scale`], `${ids}/scaled`);
      node('Cast', [scaled], ids, [attr.int('to', DataType.FLOAT)]);
      inputs.push({ name: e.name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: dims } } } });
      infos.push({ name: e.name, kind: e.kind, type: 'float', shape: dims.map((d) => ('dim_value' in d ? d.dim_value : 'batch')) });
      continue;
    }
    const values = (e.encoding as { values: readonly (string | null)[] }).values;
    // Ids 1..n in vocabulary order (freed rows, null, hold no category); "" (a missing value, never in a vocabulary) is OOV
    // for a single value, padding in a list.
    const held = [...values.entries()].filter((x): x is [number, string] => x[1] !== null);
    const keys = ['', ...held.map(([, v]) => v)];
    const ids64 = [e.kind === 'multiCategorical' ? -1 : 0, ...held.map(([i]) => i + 1)];
    node('LabelEncoder', [e.name], ids, [attr.strings('keys_strings', keys), attr.ints('values_int64s', ids64), attr.int('default_int64', 0)], ML_DOMAIN);
    inputs.push({ name: e.name, type: { tensor_type: { elem_type: DataType.STRING, shape: { dim: dims } } } });
    infos.push({ name: e.name, kind: e.kind, type: 'string', shape: dims.map((d) => ('dim_value' in d ? d.dim_value : 'batch')) });
  }
  const rename = new Map(graph.input.map((i) => [i.name, idName(i.name)]));
  const model = graph.node.map((n) => (n.input.some((i) => rename.has(i)) ? { ...n, input: n.input.map((i) => rename.get(i) ?? i) } : n));
  return {
    graph: { ...graph, node: [...nodes, ...model], initializer: [...initializers, ...graph.initializer], input: inputs },
    inputs: infos,
  };
}
