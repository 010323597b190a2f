import type { EngineFactory, EngineOptions, TrainingEngine } from '@esm2/core';
import { TfjsEngine } from './engine.js';
import { selectTfBackend } from './runtime.js';

/** The factory the trainer picks with `--backend tfjs`; `log` receives the backend choice. */
export function createTfjsEngineFactory(log?: (message: string) => void): EngineFactory {
  return {
    name: 'tfjs',
    async create(options: EngineOptions): Promise<TrainingEngine> {
      const runtime = await selectTfBackend(log);
      return new TfjsEngine(options.model, options.weights, options.optimizer, runtime);
    },
  };
}

export const tfjsEngineFactory: EngineFactory = createTfjsEngineFactory();
