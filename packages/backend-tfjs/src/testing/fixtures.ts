import { buildModel, MODEL_NAMES, mulberry32, normalSampler, sizeOf, type FeatureSchema, type Graph, type HostTensor, type ModelConfigInput, type Weights, type ZooModel } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';

/** Every parameter drawn N(0, std²) — biases included, so parity tests see non-trivial values everywhere. */
export function randomWeights(graph: Graph, seed: number, std = 0.5): Weights {
  const normal = normalSampler(mulberry32(seed));
  return new Map(graph.params.map((p) => [p.name, Float32Array.from({ length: sizeOf(p.type.shape as number[]) }, () => normal() * std)]));
}

export interface ZooCase {
  label: string;
  config: ModelConfigInput;
}

/** One case per zoo model (DNN also with tanh and one layer) and per interaction module of each, with narrow towers so the f64 oracle stays fast. */
export const ZOO_CASES: ZooCase[] = [
  { label: 'esm2', config: { model: 'esm2', towers: [8, 4] } },
  { label: 'esmm', config: { model: 'esmm', towers: [8, 4] } },
  // One DNN graph holds both networks (CTR and CVR); the config's `task` changes nothing (core's baselines.test.ts).
  { label: 'dnn', config: { model: 'dnn', towers: [8, 4] } },
  { label: 'dnn (tanh, one layer)', config: { model: 'dnn', towers: [6], activation: 'tanh' } },
  { label: 'dnn-os', config: { model: 'dnn-os', towers: [8, 4], oversampleRate: 4 } },
  ...MODEL_NAMES.flatMap((model): ZooCase[] => [
    // 'dot' needs one width for every field (the small schema's 'item' is 3 wide); numericDim 2 adds the numerics' projection.
    { label: `${model}, interaction dot`, config: { model, towers: [4], interaction: 'dot', embeddingDim: 3, numericDim: model === 'dnn' ? 3 : 2 } },
    { label: `${model}, interaction cross`, config: { model, towers: [4], interaction: 'cross', crossLayers: model === 'esm2' ? 2 : 1 } },
  ]),
];

export interface Fixture {
  schema: FeatureSchema;
  model: ZooModel;
  weights: Weights;
  feeds: Record<string, HostTensor>;
}

export function fixture(config: ModelConfigInput, seed = 1, batch = 16): Fixture {
  const schema = smallSchema();
  const model = buildModel(schema, config);
  // Cross layers make the towers' input a degree-(L+1) polynomial of the embeddings: N(0, 0.5²)
  // weights everywhere would saturate the sigmoids (p = 1 − 1e-10), where f32 and the f64 oracle part ways.
  const std = config.interaction === 'cross' ? 0.25 : 0.5;
  return { schema, model, weights: randomWeights(model.graph, seed, std), feeds: randomFeeds(model.graph, schema, batch, seed + 100) };
}

/** The weights as f64 copies, for the interpreter's precise finite differences. */
export function asFloat64(weights: Weights): Map<string, Float64Array> {
  return new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)]));
}
