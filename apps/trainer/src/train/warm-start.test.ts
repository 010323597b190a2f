import { describe, expect, it } from 'vitest';
import { resolveFitSettings } from './fit-config.js';
import { warmSettings, type WarmParent } from './warm-start.js';

const parentSettings = resolveFitSettings(
  { data: '/d/day0.csv', valid: '/d/valid0.csv', model: 'esm2', towers: [8, 4], embeddingDim: 4, lr: 0.01, seed: 3, earlyStop: 'ctcvr_auc', patience: 1 },
  { optimizer: { embeddingOptimizer: 'adagrad' } },
  { backend: 'onnx' },
);
const parent = { dir: '/runs/p/checkpoint', settings: { ...parentSettings, workers: 2 } } as WarmParent;

describe('warmSettings', () => {
  it("keeps the parent's settings; the allowed ones change; validation data and early stopping are the new run's", () => {
    const logs: string[] = [];
    const s = warmSettings(parent, {}, '/d/day1.csv', undefined, (m) => logs.push(m));
    expect(s).toEqual({ ...parentSettings, train: '/d/day1.csv', valid: undefined, earlyStop: undefined, selectBy: 'ctcvr_auc', workers: 2 });
    expect('valid' in s || 'earlyStop' in s).toBe(false);
    expect(logs).toEqual(['--warm-start: the parent stopped early on ctcvr_auc; this run has no --valid, so it does not']);
    const t = warmSettings(parent, { lr: 0.02, epochs: 5, batchSize: 64, seed: 9, backend: 'torch', workers: 1, towers: [8, 4], model: 'esm2' }, '/d/day1.enc', '/d/valid1.csv', () => undefined);
    expect(t).toMatchObject({ optimizer: { lr: 0.02, embeddingOptimizer: 'adagrad' }, epochs: 5, batchSize: 64, seed: 9, backend: 'torch', workers: 1, valid: '/d/valid1.csv' });
    expect(t.earlyStop).toEqual({ metric: 'ctcvr_auc', patience: 1 });
    expect(t.model).toEqual(parentSettings.model);
  });

  it('refuses a flag that changes the architecture, naming both values, and checks the allowed ones', () => {
    expect(() => warmSettings(parent, { towers: [64], embeddingDim: 8 }, '/d/day1.csv', undefined, () => undefined)).toThrow(
      "--warm-start /runs/p/checkpoint: its model has towers 8-4, --towers 64; its model has embedding dim 4, --embedding-dim 8 would change the architecture",
    );
    expect(() => warmSettings(parent, { model: 'esmm' }, '/d/day1.csv', undefined, () => undefined)).toThrow('its model has model esm2, --model esmm would change the architecture');
    expect(() => warmSettings(parent, { lr: -1 }, '/d/day1.csv', undefined, () => undefined)).toThrow(/--lr: /);
  });
});
