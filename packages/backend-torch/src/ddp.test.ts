import { buildModel, DEFAULT_OPTIMIZER, initWeights, type HostTensor, type OptimizerConfig, type Weights } from '@esm2/core';
import { randomFeeds, requires, smallSchema } from '@esm2/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { TorchMissingError, TorchRunError } from './errors.js';
import { resolveLaunch } from './launch.js';
import { trainTorchRuns } from './train.js';

const STEPS = 20;
const schema = smallSchema();
const model = buildModel(schema, { model: 'esm2', towers: [16, 8], embeddingDim: 4, numericDim: 3 });
// Global batch sizes that split unevenly over 2 ranks, and a batch of 1 row (rank 1 gets none).
const SIZES = [64, 63, 1, 17, 40];
const batches: Record<string, HostTensor>[] = Array.from({ length: STEPS }, (_, step) => randomFeeds(model.graph, schema, SIZES[step % SIZES.length]!, 500 + step));

const CASES: Record<string, OptimizerConfig> = {
  default: DEFAULT_OPTIMIZER,
  // Clipping that binds (the norm is taken over both ranks' summed gradients), Adagrad tables with their own rate and L2.
  'clip+adagrad+l2': { ...DEFAULT_OPTIMIZER, lr: 3e-3, clipNorm: 0.05, embeddingOptimizer: 'adagrad', embeddingLr: 0.02, embeddingL2: 1e-3 },
};
const initial = initWeights(model.graph, 11);
const copy = (w: Weights): Weights => new Map([...w].map(([name, data]) => [name, Float32Array.from(data)]));
const runs = () => Object.values(CASES).map((optimizer) => ({ model, weights: copy(initial), optimizer, batches }));

// One rank (one python process) and two ranks (torchrun, gloo on loopback, one thread each), in parallel.
const [one, two] = await Promise.all([
  trainTorchRuns(runs()).catch((e: unknown) => e as Error),
  trainTorchRuns(runs(), { launch: { nprocPerNode: 2 } }).catch((e: unknown) => e as Error),
]);
const torch = requires({ what: 'python3 with torch', missing: one instanceof TorchMissingError ? one.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

function maxAbs(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe.runIf(torch.run)('DDP: 2 ranks under torchrun train as 1 rank on the same global batches', () => {
  beforeAll(torch.check);
  it.each(Object.keys(CASES).map((name, k) => [name, k] as const))('%s: 20 steps, same losses and weights within 1e-5', (name, k) => {
    if (one instanceof Error) throw one;
    if (two instanceof Error) throw two;
    const a = one[k]!;
    const b = two[k]!;
    expect(b.losses).toHaveLength(STEPS);
    for (let step = 0; step < STEPS; step++) {
      for (const loss of model.losses) {
        const x = a.losses[step]![loss]!;
        const y = b.losses[step]![loss]!;
        if (!(Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x)))) expect.fail(`step ${step}: ${loss} is ${x} on 1 rank, ${y} on 2`);
      }
    }
    let worst = 0;
    let moved = 0;
    for (const p of model.graph.params) {
      const d = maxAbs(b.weights.get(p.name)!, a.weights.get(p.name)!);
      worst = Math.max(worst, d);
      if (!(d <= 1e-5)) expect.fail(`parameter '${p.name}' differs by ${d} between 1 and 2 ranks`);
      moved = Math.max(moved, maxAbs(a.weights.get(p.name)!, initial.get(p.name)!));
    }
    // Training happened: weights moved far beyond the tolerance.
    expect(moved).toBeGreaterThan(5e-3);
    console.info(`DDP ${name}: worst weight difference 1 vs 2 ranks ${worst.toExponential(2)}, largest move ${moved.toFixed(4)}`);
  });
});

describe('torchrun launch settings', () => {
  it('fills defaults (a free port on one node) and refuses what torchrun would fail on later', async () => {
    const one = await resolveLaunch({ nprocPerNode: 2 });
    expect(one).toMatchObject({ nprocPerNode: 2, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', maxRestarts: 0 });
    expect(one.masterPort).toBeGreaterThan(0);
    await expect(resolveLaunch({ nprocPerNode: 0 })).rejects.toThrow(new TorchRunError('nprocPerNode must be a positive integer, got 0'));
    await expect(resolveLaunch({ nprocPerNode: 1, nnodes: 2, nodeRank: 2, masterAddr: 'a', masterPort: 1 })).rejects.toThrow('nodeRank must be 0…1 (nnodes 2), got 2');
    await expect(resolveLaunch({ nprocPerNode: 1, nnodes: 2, nodeRank: 1 })).rejects.toThrow(/2 nodes need the address and port of node 0/);
  });
});
