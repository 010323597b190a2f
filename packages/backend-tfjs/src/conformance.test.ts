import { runConformance } from '@esm2/core/conformance';
import { beforeAll, describe, it } from 'vitest';
import { tfjsCompiler } from './graph-compiler.js';
import { cpuRuntime } from './testing/engine.js';

beforeAll(cpuRuntime);

// The whole suite (every op, every zoo model × interaction, forward, gradients and training steps)
// on the tfjs lowerings, on the cpu backend every machine has.
runConformance({ name: 'backend-tfjs (tfjs cpu)', compile: tfjsCompiler }, { test: { describe, it, beforeAll } });
