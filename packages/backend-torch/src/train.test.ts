import { createOnnxTrainingEngine } from '@esm2/backend-onnx';
import { buildModel, DEFAULT_OPTIMIZER, initWeights, type HostTensor, type OptimizerConfig, type Weights, type ZooModel } from '@esm2/core';
import { randomFeeds, requires, smallSchema } from '@esm2/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { TorchMissingError, TorchRunError } from './errors.js';
import { trainTorch, trainTorchRuns, type TorchTraining } from './train.js';

const STEPS = 100;
const BATCH = 64;
const schema = smallSchema();
const model = buildModel(schema, { model: 'esm2', towers: [16, 8], embeddingDim: 4, numericDim: 3 });
const batches: Record<string, HostTensor>[] = Array.from({ length: STEPS }, (_, step) => randomFeeds(model.graph, schema, BATCH, 1000 + step));

/** DEFAULT_OPTIMIZER (Adam tables), and clipping that binds, Adagrad tables with their own rate and L2. */
const CASES: Record<string, OptimizerConfig> = {
  default: DEFAULT_OPTIMIZER,
  'clip+adagrad+l2': { ...DEFAULT_OPTIMIZER, lr: 3e-3, clipNorm: 0.05, embeddingOptimizer: 'adagrad', embeddingLr: 0.02, embeddingL2: 1e-3 },
};
const initial = initWeights(model.graph, 7);
const copy = (w: Weights): Weights => new Map([...w].map(([name, data]) => [name, Float32Array.from(data)]));

// Both trainings run in one python process. Without torch the tests skip, saying why; under CI=true they fail instead (requires).
const torch = await trainTorchRuns(Object.values(CASES).map((optimizer) => ({ model, weights: copy(initial), optimizer, batches }))).catch((e: unknown) => e as Error);
const withTorch = requires({ what: 'python3 with torch', missing: torch instanceof TorchMissingError ? torch.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

async function trainOnnx(zoo: ZooModel, optimizer: OptimizerConfig): Promise<TorchTraining> {
  const engine = await createOnnxTrainingEngine({ model: zoo, weights: copy(initial), optimizer });
  try {
    const losses = [];
    for (const feeds of batches) losses.push((await engine.step(feeds)).losses);
    return { losses, weights: engine.getWeights() };
  } finally {
    engine.dispose();
  }
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
function maxAbs(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe.runIf(withTorch.run)('trainTorch: 100 steps on one rank match the onnx engine from the same weights and batches', () => {
  beforeAll(withTorch.check);
  it.each(Object.keys(CASES).map((name, k) => [name, k] as const))('%s', async (name, k) => {
    if (torch instanceof Error) throw torch;
    const got = torch[k]!;
    const want = await trainOnnx(model, CASES[name]!);
    expect(got.losses).toHaveLength(STEPS);
    // Every step's losses (`loss` and its parts) within 1e-3 relative: the bound.
    let worstLoss = 0;
    for (let step = 0; step < STEPS; step++) {
      expect(Object.keys(got.losses[step]!).sort()).toEqual([...model.losses].sort());
      for (const loss of model.losses) {
        const r = relative(got.losses[step]![loss]!, want.losses[step]![loss]!);
        worstLoss = Math.max(worstLoss, r);
        if (!(r <= 1e-3)) expect.fail(`step ${step}: ${loss} is ${got.losses[step]![loss]} in torch, ${want.losses[step]![loss]} in onnx`);
      }
    }
    // Final weights within 1e-4 absolute. Both sides compute the dense step in float32 and the tables'
    // in double stored to float32, so only float32 rounding of the forward/backward differs (≈1e-6 seen
    // here after 100 steps). Adam normalises gradients, so a wrong rule can hide in the losses: without
    // the 'mean' pooling's 1/count on the rows gradients the tables end ~1.7e-3 away; 1e-4 catches it.
    let worstWeight = 0;
    let moved = 0;
    for (const p of model.graph.params) {
      const w = got.weights.get(p.name)!;
      expect(w).toHaveLength(initial.get(p.name)!.length);
      const d = maxAbs(w, want.weights.get(p.name)!);
      worstWeight = Math.max(worstWeight, d);
      if (!(d <= 1e-4)) expect.fail(`parameter '${p.name}' differs by ${d} between torch and onnx`);
      moved = Math.max(moved, maxAbs(w, initial.get(p.name)!));
    }
    // Training happened: some weight moved far more than the tolerance (at most ~lr per Adam step).
    expect(moved).toBeGreaterThan(0.03);
    console.info(`trainTorch ${name}: worst loss difference ${worstLoss.toExponential(2)} relative, worst weight difference ${worstWeight.toExponential(2)}, largest move ${moved.toFixed(3)}`);
  });
});

describe('trainTorch refuses a bad request before starting python', () => {
  // A python that does not exist: reaching it would reject with TorchMissingError instead.
  const options = { python: '/nonexistent/python3' };
  it('names a parameter without initial weights', async () => {
    const weights = copy(initial);
    weights.delete('emb/user');
    await expect(trainTorch(model, weights, DEFAULT_OPTIMIZER, batches.slice(0, 2), options)).rejects.toThrow(new TorchRunError("no initial weights for parameter 'emb/user'"));
  });
  it('names an input given in some batches only, and a batch whose inputs disagree on rows', async () => {
    const { price: _, ...noPrice } = batches[1]!;
    await expect(trainTorch(model, initial, DEFAULT_OPTIMIZER, [batches[0]!, noPrice], options)).rejects.toThrow("input 'price' is in some batches only");
    const short = { ...batches[1]!, price: { shape: [3, 1], data: new Float32Array(3) } };
    await expect(trainTorch(model, initial, DEFAULT_OPTIMIZER, [batches[0]!, short], options)).rejects.toThrow(/batch 1: input 'price' has 3 rows, the batch's first input has 64/);
  });
});
