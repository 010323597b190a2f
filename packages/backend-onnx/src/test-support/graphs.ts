import { buildModel, type ModelConfigInput, type ZooModel } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';

/**
 * Every zoo model with each interaction module, one-layer towers. 'dot'
 * needs one width for every field (the small schema's 'item' is 3 wide);
 * ESM2's numerics join the dots as they are (numericDim 3), the others'
 * through the projection (numericDim 2). DNN's two networks each carry one.
 */
export const INTERACTION_VARIANTS: Record<string, ModelConfigInput> = Object.fromEntries(
  (['esm2', 'esmm', 'dnn', 'dnn-os'] as const).flatMap((model) => [
    [`${model}-dot`, { model, towers: [4], interaction: 'dot', embeddingDim: 3, numericDim: model === 'esm2' ? 3 : 2 }],
    [`${model}-cross`, { model, towers: [4], interaction: 'cross', crossLayers: model === 'esm2' ? 2 : 1 }],
  ]),
);

/** Every zoo model (and the variants that change the graph), with small towers so the f64 interpreter stays quick. */
export const ZOO_VARIANTS: Record<string, ModelConfigInput> = {
  esm2: { model: 'esm2', towers: [8, 4] },
  'esm2-tanh': { model: 'esm2', towers: [6], activation: 'tanh' },
  esmm: { model: 'esmm', towers: [8, 4] },
  // One DNN graph holds both networks (CTR and CVR); the config's `task` changes nothing (core's baselines.test.ts).
  dnn: { model: 'dnn', towers: [8, 4] },
  'dnn-one-layer': { model: 'dnn', towers: [8] },
  'dnn-os': { model: 'dnn-os', oversampleRate: 4, towers: [8, 4] },
  ...INTERACTION_VARIANTS,
};

export function zooModel(variant: string): ZooModel {
  return buildModel(smallSchema(), ZOO_VARIANTS[variant]);
}
