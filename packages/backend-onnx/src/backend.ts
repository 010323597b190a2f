import { SPECIFICATION_VERSION, type StepBackendDescriptor } from '@esm2/core/backend';
import type { OnnxEngineOptions } from './train/engine.js';
import { onnxEngineFactory } from './train/factory.js';

/**
 * `--backend onnx` (@esm2/core/backend): the IR lowered to ONNX and run by
 * onnxruntime-node as the GraphCompiler of core's HostEmbeddingEngine.
 */
export const backend: StepBackendDescriptor<OnnxEngineOptions> = {
  specificationVersion: SPECIFICATION_VERSION,
  name: 'onnx',
  description: 'onnxruntime-node: the training step lowered to ONNX, embedding tables on the host',
  kind: 'steps',
  options: {
    workers: "sessions computing shares of each batch's gradients concurrently (default 1)",
    threads: 'intra-op threads of each session (default 1)',
    spinning: 'whether the sessions spin waiting for work (default false)',
  },
  create: (options) => onnxEngineFactory(options),
};
