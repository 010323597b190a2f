import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import { tableSize, type FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';
import { applyInteraction, type FieldPart } from './interaction.js';

/** The graph inputs of the schema's fields, by field name (declared once per graph). */
export function featureInputs(b: GraphBuilder, schema: FeatureSchema): Map<string, Value> {
  return new Map(
    schema.fields.map((field) => {
      if (field.kind === 'numeric') return [field.name, b.input(field.name, 'f32', ['batch'])];
      if (field.kind === 'categorical') return [field.name, b.input(field.name, 'i32', ['batch'])];
      return [field.name, b.input(field.name, 'i32', ['batch', field.maxLength])];
    }),
  );
}

/**
 * The shared embedding module: one table per categorical field (shared by
 * every tower), multi-valued fields pooled, numerics through a learned
 * linear map with tanh (the paper's better variant), concatenated, then
 * the config's interaction module (zoo/interaction.ts: none, DLRM dot
 * products or DCN-v2 cross layers). Returns the representation every tower
 * reads. A model with a second, independent set of tables and interaction
 * parameters (the DNN baseline's CTR network) passes the same `inputs` and a
 * param-name `prefix`.
 */
export function composeSharedEmbedding(
  b: GraphBuilder,
  schema: FeatureSchema,
  config: ModelConfig,
  inputs: Map<string, Value> = featureInputs(b, schema),
  prefix = '',
): Value {
  const parts: FieldPart[] = [];
  const numerics: Value[] = [];
  for (const field of schema.fields) {
    const x = inputs.get(field.name)!;
    if (field.kind === 'numeric') {
      numerics.push(ops.reshape(b, x, ['batch', 1]));
      continue;
    }
    const dim = field.embeddingDim ?? config.embeddingDim;
    const table = b.param(`${prefix}emb/${field.name}`, [tableSize(field), dim], { kind: 'normal', std: config.embeddingInitStd }, 'embedding');
    const value = field.kind === 'categorical' ? ops.gather(b, table, x) : ops.pooledGather(b, table, x, field.pooling);
    parts.push({ name: field.name, value, numeric: false });
  }
  if (numerics.length > 0) {
    const x = numerics.length === 1 ? numerics[0]! : ops.concat(b, numerics, 1);
    const w = b.param(`${prefix}numeric/w`, [numerics.length, config.numericDim], { kind: 'glorotUniform' });
    const bias = b.param(`${prefix}numeric/b`, [config.numericDim], { kind: 'zeros' });
    parts.push({ name: 'numeric', value: ops.tanh(b, ops.add(b, ops.matmul(b, x, w), bias)), numeric: true });
  }
  const x = parts.length === 1 ? parts[0]!.value : ops.concat(b, parts.map((p) => p.value), 1);
  return applyInteraction(b, parts, x, config, prefix);
}
