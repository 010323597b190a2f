import { runConformance } from '@esm2/core/conformance';
import { missingPythonModule, requires } from '@esm2/core/testing';
import { beforeAll, describe, it } from 'vitest';
import { torchCompiler } from './graph-compiler.js';
import { torchPython } from './run.js';

// Torch is Debian's python3-torch under /usr/bin/python3 (or ESM2_PYTHON). Without it the suite
// is skipped, saying why; under CI=true it fails instead (requires()).
const python = torchPython();
const missing = missingPythonModule(python, 'torch');
const torch = requires({ what: `${python} with torch`, missing, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });
beforeAll(torch.check);

// The whole suite (every op, every zoo model × interaction, forward, gradients and training steps) on
// python/esm2_torch's graph runner; the runs asked for together share one python process.
runConformance({ name: 'backend-torch (PyTorch)', compile: torchCompiler(), ...(torch.run ? {} : { skip: missing! }) }, { test: { describe, it, beforeAll } });
