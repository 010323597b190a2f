import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import { tableSize, type FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';

/**
 * The shared embedding module: one table per categorical field (shared by
 * every tower), multi-valued fields pooled, numerics through a learned
 * linear map with tanh (the paper's better variant). Returns the
 * concatenated representation every tower reads.
 */
export function composeSharedEmbedding(b: GraphBuilder, schema: FeatureSchema, config: ModelConfig): Value {
  const parts: Value[] = [];
  const numerics: Value[] = [];
  for (const field of schema.fields) {
    if (field.kind === 'numeric') {
      const x = b.input(field.name, 'f32', ['batch']);
      numerics.push(ops.reshape(b, x, ['batch', 1]));
      continue;
    }
    const dim = field.embeddingDim ?? config.embeddingDim;
    const table = b.param(`emb/${field.name}`, [tableSize(field), dim], { kind: 'normal', std: config.embeddingInitStd }, 'embedding');
    if (field.kind === 'categorical') {
      parts.push(ops.gather(b, table, b.input(field.name, 'i32', ['batch'])));
    } else {
      parts.push(ops.pooledGather(b, table, b.input(field.name, 'i32', ['batch', field.maxLength]), field.pooling));
    }
  }
  if (numerics.length > 0) {
    const x = numerics.length === 1 ? numerics[0]! : ops.concat(b, numerics, 1);
    const w = b.param('numeric/w', [numerics.length, config.numericDim], { kind: 'glorotUniform' });
    const bias = b.param('numeric/b', [config.numericDim], { kind: 'zeros' });
    parts.push(ops.tanh(b, ops.add(b, ops.matmul(b, x, w), bias)));
  }
  return parts.length === 1 ? parts[0]! : ops.concat(b, parts, 1);
}
