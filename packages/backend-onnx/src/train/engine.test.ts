import { buildModel, DEFAULT_OPTIMIZER, initWeights } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { onnxEngineFactory } from './factory.js';

// Steps of this engine's compiler against the interpreter's: the conformance suite (src/conformance.test.ts, 10 steps).
describe('onnx training engine', () => {
  const schema = smallSchema();

  it('takes its onnxruntime settings when the factory is made, and refuses a bad thread count then', async () => {
    const model = buildModel(schema, { towers: [4], embeddingDim: 2, numericDim: 2 });
    const options = { model, weights: initWeights(model.graph, 1), optimizer: DEFAULT_OPTIMIZER };
    const plain = await onnxEngineFactory().create(options);
    const tuned = await onnxEngineFactory({ threads: 2, spinning: true }).create(options);
    expect(plain.description).toMatch(/, 1 intra-op thread$/);
    expect(tuned.description).toMatch(/, 2 intra-op threads, spinning$/);
    plain.dispose();
    tuned.dispose();
    expect(() => onnxEngineFactory({ threads: 0 })).toThrow('threads must be a positive integer, got 0');
    expect(() => onnxEngineFactory({ threads: 1.5 })).toThrow(/got 1\.5/);
  });
});
