import { runConformance } from '@esm2/core/conformance';
import { beforeAll, describe, it } from 'vitest';
import { onnxCompiler } from './train/engine.js';

// The whole suite (every op, every zoo model × interaction, forward, gradients and training steps) on
// onnxruntime-node, through the compiler the training engine uses (one intra-op thread, no spinning).
runConformance({ name: 'backend-onnx (onnxruntime-node)', compile: onnxCompiler(1, false) }, { test: { describe, it, beforeAll }, steps: 10 });
