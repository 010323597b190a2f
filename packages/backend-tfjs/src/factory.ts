import type { EngineFactory, EngineOptions, TrainingEngine } from '@esm2/core';
import { TfjsEngine } from './engine.js';
import { selectTfBackend } from './runtime.js';

/** tfjs settings of the training engine (backend-specific, so not in core's EngineOptions). */
export interface TfjsEngineOptions {
  /** Receives the tfjs backend choice (e.g. why tfjs-node is not used). */
  log?: (message: string) => void;
}

/** The `tfjs` training engine for the trainer's `--backend tfjs`. */
export function tfjsEngineFactory(options: TfjsEngineOptions = {}): EngineFactory {
  return {
    name: 'tfjs',
    async create(engine: EngineOptions): Promise<TrainingEngine> {
      const runtime = await selectTfBackend(options.log);
      return new TfjsEngine(engine.model, engine.weights, engine.optimizer, runtime);
    },
  };
}
