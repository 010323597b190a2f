import type { FeatureSchema } from '../schema.js';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { buildDnn } from './dnn.js';
import { buildEsm2 } from './esm2.js';
import { buildEsmm } from './esmm.js';
import type { ZooModel } from './model.js';

const builders = {
  esm2: (schema, config) => buildEsm2(schema, config),
  esmm: (schema, config) => buildEsmm(schema, config),
  dnn: (schema, config) => buildDnn(schema, config, false),
  'dnn-os': (schema, config) => buildDnn(schema, config, true),
} satisfies Record<ModelConfig['model'], (schema: FeatureSchema, config: ModelConfig) => ZooModel>;

/** Builds a zoo model from a schema and a (partial) config; defaults are filled in. */
export function buildModel(schema: FeatureSchema, config: ModelConfigInput = {}): ZooModel {
  const full = parseModelConfig(config);
  return builders[full.model](schema, full);
}

export { composeEsm2, buildEsm2 } from './esm2.js';
export { buildEsmm } from './esmm.js';
export { buildDnn } from './dnn.js';
export { composeSharedEmbedding } from './embedding.js';
export { INTERACTIONS, type Interaction } from './config.js';
export { checkModelSize, MAX_PARAM_ELEMENTS } from './size.js';
export { calibrateTowerBiases, calibratedLogit, mlpTower, RATE_CLAMP, towerBias } from './tower.js';
export { INIT_MODES, MAX_WIDTH, MODEL_NAMES, modelConfigSchema, parseModelConfig, type ModelConfig, type ModelConfigInput, type ModelName } from './config.js';
export { BASE_RATE_NAMES, PREDICTION_NAMES, type BaseRateName, type BaseRates, type PredictionName, type TowerRate, type ZooModel } from './model.js';
