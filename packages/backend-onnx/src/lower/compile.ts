import { pruneGraph, typecheck, type Dim, type Graph, type OpName, type TensorType } from '@esm2/core';
import { DataType, type GraphProto, type TensorProto, type TypeProto, type ValueInfoProto } from '../proto/types.js';
import { OnnxGraphBuilder, type IdType } from './builder.js';
import { lowerings, type Lowering } from './table.js';
import { floatTensor } from './tensors.js';

export interface CompileOptions {
  /** Graph outputs to expose, in this order; default all of them. Everything they do not need is pruned. */
  outputs?: string[];
  /** Name of the symbolic batch dimension in the ONNX signature. */
  batchDim?: string;
  /**
   * The ONNX type of IR i32 values (ids), inputs included. Default 'int64',
   * what training steps compile with; the scoring export chooses its own
   * (artifactToModelProto's idType, default 'int32').
   */
  idType?: IdType;
}

/** IR i32 values (ids) are int64 or int32 in ONNX (see IdType). */
const elemType = (t: TensorType, idType: IdType): number => (t.dtype === 'f32' ? DataType.FLOAT : idType === 'int32' ? DataType.INT32 : DataType.INT64);

function typeProto(t: TensorType, batchDim: string, idType: IdType): TypeProto {
  const dim = t.shape.map((d: Dim) => (d === 'batch' ? { dim_param: batchDim } : { dim_value: d }));
  return { tensor_type: { elem_type: elemType(t, idType), shape: { dim } } };
}

/**
 * Compiles an IR graph and its parameter values to an ONNX GraphProto:
 * feature/label inputs become graph inputs, params become initializers,
 * each node goes through the lowering table, and each exposed output gets an
 * Identity so it carries its own name (ESM2's `pctr` and `y1` are one value).
 */
export function compileGraph(graph: Graph, weights: ReadonlyMap<string, Float32Array>, options: CompileOptions = {}): GraphProto {
  const batchDim = options.batchDim ?? 'batch';
  const idType = options.idType ?? 'int64';
  if (idType !== 'int32' && idType !== 'int64') throw new Error(`idType must be 'int32' or 'int64', got ${String(idType)}`);
  const outputs = options.outputs ?? Object.keys(graph.outputs);
  const pruned = pruneGraph(graph, outputs);
  const types = typecheck(pruned);
  const taken = new Set([...pruned.inputs.map((i) => i.name), ...pruned.params.map((p) => p.name)]);
  for (const o of outputs) {
    if (taken.has(o)) throw new Error(`output '${o}' has the name of an input or parameter; ONNX value names must be unique`);
  }

  const initializers: TensorProto[] = pruned.params.map((p) => {
    const data = weights.get(p.name);
    const dims = p.type.shape as number[];
    const size = dims.reduce((n, d) => n * d, 1);
    if (!data) throw new Error(`no weights for parameter '${p.name}'`);
    if (data.length !== size) throw new Error(`parameter '${p.name}' has ${data.length} values, its shape [${dims.join(',')}] needs ${size}`);
    return floatTensor(p.name, dims, data);
  });

  const b = new OnnxGraphBuilder(idType);
  const names = new Map<string, string>([...taken].map((n) => [n, n]));
  for (const node of pruned.nodes) {
    b.enter(node.id);
    const lower = lowerings[node.op] as Lowering<OpName>;
    const inputs = node.inputs.map((i) => names.get(i)!);
    names.set(node.id, lower({ b, inputs, types: node.inputs.map((i) => types.get(i)!), attrs: node.attrs, node }));
  }
  b.enter('%outputs');
  for (const o of outputs) b.op('Identity', [names.get(pruned.outputs[o]!)!], [], o);

  const valueInfo = (name: string, t: TensorType): ValueInfoProto => ({ name, type: typeProto(t, batchDim, idType) });
  return {
    name: pruned.name,
    node: b.nodes,
    initializer: [...initializers, ...b.initializers],
    input: pruned.inputs.map((i) => valueInfo(i.name, i.type)),
    output: outputs.map((o) => valueInfo(o, types.get(pruned.outputs[o]!)!)),
  };
}
