import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import type { ModelConfig } from './config.js';

/** One field's representation as the shared embedding produced it, [batch, width]. */
export interface FieldPart {
  /** The schema field's name, or `numeric` for the projection of all numeric features. */
  name: string;
  value: Value;
  numeric: boolean;
}

const widthOf = (v: Value) => v.type.shape[1] as number;

/**
 * DLRM-style pairwise dot products (Naumov et al. 2019): every pair of
 * field vectors' dot product, the F(F−1)/2 upper triangle, appended to the
 * concatenation `x` (which the towers read as before). Dot products need one
 * width for every field: the categorical fields must share it (a field with
 * its own embeddingDim that differs is refused, naming both fields), and
 * the numeric projection joins as one more field, through a learned linear
 * map (`<prefix>dot/numeric/w`) when numericDim is not that width.
 */
function dotInteraction(b: GraphBuilder, parts: FieldPart[], x: Value, prefix: string): Value {
  const embedded = parts.filter((p) => !p.numeric);
  const reference = embedded[0];
  if (!reference) throw new Error(`interaction 'dot' needs at least one categorical field to take the width of the dot products from`);
  const width = widthOf(reference.value);
  const odd = embedded.find((p) => widthOf(p.value) !== width);
  if (odd) {
    throw new Error(
      `interaction 'dot' needs every field's embedding to be one width: field '${odd.name}' is ${widthOf(odd.value)} wide, field '${reference.name}' is ${width}` +
        ` (remove the field's own embeddingDim, set it to ${width}, or use interaction 'cross')`,
    );
  }
  if (parts.length < 2) throw new Error(`interaction 'dot' needs at least 2 fields to pair, the schema gives 1 ('${reference.name}')`);
  const projected = parts.some((p) => p.numeric && widthOf(p.value) !== width);
  // Without a projection the stack of fields is the concatenation itself.
  const stacked = projected
    ? ops.concat(
        b,
        parts.map((p) =>
          p.numeric && widthOf(p.value) !== width
            ? ops.matmul(b, p.value, b.param(`${prefix}dot/numeric/w`, [widthOf(p.value), width], { kind: 'glorotUniform' }))
            : p.value,
        ),
        1,
      )
    : x;
  const dots = ops.pairwiseDot(b, ops.reshape(b, stacked, ['batch', parts.length, width]));
  return ops.concat(b, [x, dots], 1);
}

/**
 * DCN-v2 cross layers (Wang et al., WWW 2021), stacked form:
 * x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l with a full-rank W_l [D, D], on the
 * concatenation x0 = `x`; the towers read x_L.
 */
function crossInteraction(b: GraphBuilder, x0: Value, layers: number, prefix: string): Value {
  const dim = widthOf(x0);
  let x = x0;
  for (let l = 0; l < layers; l++) {
    const w = b.param(`${prefix}cross/l${l}/w`, [dim, dim], { kind: 'glorotUniform' });
    const bias = b.param(`${prefix}cross/l${l}/b`, [dim], { kind: 'zeros' });
    x = ops.add(b, ops.mul(b, x0, ops.add(b, ops.matmul(b, x, w), bias)), x);
  }
  return x;
}

/**
 * The feature-interaction module on the shared embedding: `parts` are the
 * fields' vectors in schema order and `x` their concatenation; returns what
 * the towers read. Parameters are named under `prefix`, so a model with two
 * networks (DNN) gets two independent modules.
 */
export function applyInteraction(b: GraphBuilder, parts: FieldPart[], x: Value, config: ModelConfig, prefix: string): Value {
  switch (config.interaction) {
    case 'none':
      return x;
    case 'dot':
      return dotInteraction(b, parts, x, prefix);
    case 'cross':
      return crossInteraction(b, x, config.crossLayers, prefix);
  }
}
