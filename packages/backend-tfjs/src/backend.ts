import { SPECIFICATION_VERSION, type StepBackendDescriptor } from '@esm2/core/backend';
import { tfjsEngineFactory } from './factory.js';

/**
 * `--backend tfjs` (@esm2/core/backend): the IR compiled to TensorFlow.js,
 * with its own step (tfjs autograd for the passes; dense Adam and the
 * embedding rows' updates on the host, core's adamRange). It takes no
 * options (it picks its tfjs runtime itself).
 */
export const backend: StepBackendDescriptor = {
  specificationVersion: SPECIFICATION_VERSION,
  name: 'tfjs',
  description: 'TensorFlow.js (tfjs-node when it loads, else the cpu backend): its own training step',
  kind: 'steps',
  options: {},
  create: () => tfjsEngineFactory(),
};
