import { HostEmbeddingEngine, interpretCompiler, type EngineFactory } from '@esm2/core';
import { SPECIFICATION_VERSION, type StepBackendDescriptor } from '@esm2/core/backend';

/**
 * The smallest complete backend (docs/backends.md shows this file): core's
 * reference interpreter as a GraphCompiler, handed to HostEmbeddingEngine,
 * which builds the training step graph, keeps the embedding tables on the
 * host and the dense state in flat vectors, and runs each step with the
 * compiled runner. A real backend swaps `interpretCompiler` for its own
 * compiler (backend-onnx: its lowering table to ONNX, run by onnxruntime).
 */
export const backend: StepBackendDescriptor<{ workers?: number }> = {
  specificationVersion: SPECIFICATION_VERSION,
  name: 'interpreter',
  description: 'the reference interpreter, in f64 on this thread: exact and slow',
  kind: 'steps',
  options: { workers: "runners computing shares of each batch's gradients (default 1)" },
  create({ workers = 1 }): EngineFactory {
    return {
      name: 'interpreter',
      create: (engine) => HostEmbeddingEngine.create(engine, interpretCompiler, 'interpreter', `reference interpreter, ${workers} runner(s)`, { workers }),
    };
  },
};
