import type { EngineFactory } from '@esm2/core';
import { onnxEngineFactory } from '@esm2/backend-onnx';
import { tfjsEngineFactory } from '@esm2/backend-tfjs';

/**
 * The training engines the trainer can run, by `--backend` name. This is
 * the only place that names a backend: the loop, checkpoints and metrics
 * see an EngineFactory. A new engine registers here and nowhere else.
 */
export const ENGINE_FACTORIES: Readonly<Record<string, EngineFactory>> = {
  onnx: onnxEngineFactory,
  tfjs: tfjsEngineFactory,
};

/** The ONNX Runtime engine: ~100× tfjs-cpu, parity-tested against it (engine-parity.test.ts). */
export const DEFAULT_BACKEND = 'onnx';

export function engineFactory(name: string): EngineFactory {
  const factory = ENGINE_FACTORIES[name];
  if (!factory) throw new Error(`unknown backend '${name}' (available: ${Object.keys(ENGINE_FACTORIES).join(', ')})`);
  return factory;
}
