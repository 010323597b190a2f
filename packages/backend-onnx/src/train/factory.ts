import type { EngineFactory } from '@esm2/core';
import { createOnnxTrainingEngine, onnxEngineSettings, type OnnxEngineOptions } from './engine.js';

/**
 * The `onnx` training engine for the trainer's `--backend onnx`, with its
 * onnxruntime settings fixed when the factory is made (checked then).
 */
export function onnxEngineFactory(options: OnnxEngineOptions = {}): EngineFactory {
  const settings = onnxEngineSettings(options);
  return {
    name: 'onnx',
    create: (engine) => createOnnxTrainingEngine(engine, settings),
  };
}
