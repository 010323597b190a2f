import type { EngineFactory } from '@esm2/core';
import { createOnnxTrainingEngine } from './engine.js';

/** The `onnx` training engine for the trainer's `--backend onnx`. */
export const onnxEngineFactory: EngineFactory = {
  name: 'onnx',
  create: (options) => createOnnxTrainingEngine(options),
};
