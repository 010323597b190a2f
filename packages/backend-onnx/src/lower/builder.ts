import { DataType, type AttributeProto, type NodeProto, type TensorProto } from '../proto/types.js';
import { attr } from './attrs.js';
import { floatTensor, int32Tensor, int64Tensor } from './tensors.js';

/**
 * The ONNX element type of the IR's i32 ids in a compiled graph: int64 (what
 * training steps and every export before int32 ids used) or int32 (what the
 * scoring export now writes: Gather indexes with either, and an int32 input
 * takes the caller's Int32Array as it is).
 */
export type IdType = 'int32' | 'int64';

/**
 * Accumulates the ONNX nodes and constant initializers a lowering emits.
 * Value names of IR inputs, params and nodes (`%7`) are kept as they are;
 * everything a lowering adds is named `<IR node id>/<op>#<n>`, which cannot
 * clash with them because schema field names cannot contain `%` and
 * parameter names are fixed by the zoo.
 */
export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private scope = '%graph';
  private counter = 0;

  /** `idType`: the element type id values have in this graph (see IdType). */
  constructor(readonly idType: IdType = 'int64') {}

  /** Names intermediate values after the IR node being lowered, so a failing ONNX node points back at it. */
  enter(scope: string): void {
    this.scope = scope;
  }

  fresh(hint: string): string {
    return `${this.scope}/${hint}#${this.counter++}`;
  }

  /** Emits one single-output node and returns its output's name. */
  op(opType: string, inputs: string[], attributes: AttributeProto[] = [], out?: string): string {
    const output = out ?? this.fresh(opType);
    const node: NodeProto = { input: inputs, output: [output], name: output, op_type: opType };
    if (attributes.length > 0) node.attribute = attributes;
    this.nodes.push(node);
    return output;
  }

  /** A float32 constant (scalar by default), shared between all nodes that use the same value. */
  f32(value: number, dims: number[] = []): string {
    return this.constant(`f32:${dims.join('x')}:${value}`, (name) =>
      floatTensor(name, dims, new Float32Array(dims.reduce((n, d) => n * d, 1)).fill(value)),
    );
  }

  /** An int64 constant vector (shape operands, axes, starts…). */
  i64(values: readonly number[], dims: number[] = [values.length]): string {
    return this.constant(`i64:${dims.join('x')}:${values.join(',')}`, (name) => int64Tensor(name, dims, values));
  }

  /** A constant of the graph's id type (compared with, or standing in for, id values). */
  ids(values: readonly number[], dims: number[] = [values.length]): string {
    if (this.idType === 'int64') return this.i64(values, dims);
    return this.constant(`i32:${dims.join('x')}:${values.join(',')}`, (name) => int32Tensor(name, dims, values));
  }

  /** Id values as int64, for the ops that index with nothing else (ScatterND): a Cast when ids are int32. */
  idsAsInt64(ids: string): string {
    return this.idType === 'int64' ? ids : this.op('Cast', [ids], [attr.int('to', DataType.INT64)]);
  }

  /** A node producing zeros of a static shape at run time, so gradient tables do not bloat the file. */
  zeros(dims: number[]): string {
    return this.op('ConstantOfShape', [this.i64(dims)], [attr.tensor('value', floatTensor('', [1], Float32Array.of(0)))]);
  }

  private constant(key: string, make: (name: string) => TensorProto): string {
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `%const/${this.constants.size}`;
    this.initializers.push(make(name));
    this.constants.set(key, name);
    return name;
  }
}
