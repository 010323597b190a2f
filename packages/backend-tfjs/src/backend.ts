import { SPECIFICATION_VERSION, type StepBackendDescriptor } from '@esm2/core/backend';
import { tfjsEngineFactory } from './factory.js';

/**
 * `--backend tfjs` (@esm2/core/backend): the IR compiled to TensorFlow.js,
 * with its own step (dense Adam on device, sparse updates of the embedding
 * rows on the host). It takes no options (it picks its tfjs runtime itself).
 */
export const backend: StepBackendDescriptor = {
  specificationVersion: SPECIFICATION_VERSION,
  name: 'tfjs',
  description: 'TensorFlow.js (tfjs-node when it loads, else the cpu backend): its own training step',
  kind: 'steps',
  options: {},
  create: () => tfjsEngineFactory(),
};
