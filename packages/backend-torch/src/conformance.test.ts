import { runConformance } from '@esm2/core/conformance';
import { missingPythonModule, requires } from '@esm2/core/testing';
import { beforeAll, describe, it } from 'vitest';
import { torchCompiler } from './graph-compiler.js';
import { torchPython } from './python.js';

// Torch is Debian's python3-torch under /usr/bin/python3 (or ESM2_PYTHON). Without it the suite
// is skipped, saying why; under CI=true it fails instead (requires()).
const python = torchPython();
const missing = missingPythonModule(python, 'torch');
const torch = requires({ what: `${python} with torch`, missing, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });
beforeAll(torch.check);

// The suite (every op, every zoo model × interaction, forward, gradients and training) on
// python/esm2_torch's graph runner; the runs asked for together share one python process. A subset:
// one training step instead of 3. Each step is one more python start (torch's import: 2 s idle, 8 s on
// a loaded machine) and runs the same train-step graph again (every op of it is already run by step 1;
// the moments carried between steps are the host engine's, not torch's). Torch's own training (train.py)
// is checked over 100 steps against the onnx engine in train.test.ts.
runConformance(
  { name: 'backend-torch (PyTorch)', compile: torchCompiler(), ...(torch.run ? {} : { skip: missing! }) },
  { test: { describe, it, beforeAll }, steps: 1 },
);
