import { describe, expect, it } from 'vitest';
import { parseFeatureSchema } from '../schema.js';
import { smallSchema } from '../testing.js';
import { buildModel } from './index.js';
import { checkModelSize, MAX_PARAM_ELEMENTS } from './size.js';
import { parseModelConfig } from './config.js';

describe('checkModelSize', () => {
  it('passes a model that fits and refuses, before any allocation, one whose weights exceed the memory or a tensor', () => {
    const model = buildModel(smallSchema(), { embeddingDim: 4, towers: [8] });
    const weights = model.graph.params.reduce((s, p) => s + (p.type.shape as number[]).reduce((a, b) => a * b, 1), 0);
    expect(() => checkModelSize(model, weights * 16)).not.toThrow();
    // One byte short of weights, gradients and Adam's two moments in float32.
    expect(() => checkModelSize(model, weights * 16 - 1)).toThrow(/the model is too big: .* weights would need about .* GiB to train .*; the largest is parameter/);

    // 3e6 vocabulary rows × 1000 = 3e9 weights in one table: more than a typed array holds (the old "Invalid typed array length").
    const huge = parseFeatureSchema({ fields: [{ kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 3_000_000 } }] });
    const big = buildModel(huge, { embeddingDim: 1000, towers: [8] });
    expect(() => checkModelSize(big, 2 ** 50)).toThrow(/parameter 'emb\/user' \[3000000 × 1000\] \(from model\.embeddingDim \(--embedding-dim\).*more than one tensor can hold \(2147483647\)/);
    expect(MAX_PARAM_ELEMENTS).toBe(2 ** 31 - 1);
  });

  it('widths are bounded in the config, naming the key', () => {
    expect(() => parseModelConfig({ embeddingDim: 100_000_000 })).toThrow(/embeddingDim.*65536/);
    expect(() => parseModelConfig({ towers: [256, 1e9] })).toThrow(/towers.*65536/);
  });
});
