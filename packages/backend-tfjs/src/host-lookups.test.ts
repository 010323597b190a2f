import { buildModel, GraphBuilder, initWeights, ops } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';

describe('TfjsEngine embedding lookups (core findEmbeddingLookups, as the onnx engine)', () => {
  // This engine used to train such a table densely where the onnx engine refused the model.
  it('refuses an embedding table read by a non-lookup op, naming the node, like the onnx engine', async () => {
    const b = new GraphBuilder('tiny');
    const table = b.param('emb/t', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding');
    const product = ops.matmul(b, b.input('x', 'f32', ['batch', 10]), table);
    b.output('loss', ops.mean(b, product));
    const model = { ...buildModel(smallSchema(), { towers: [3] }), graph: b.build(), losses: ['loss'] };
    const runtime = await cpuRuntime();
    expect(() => new TfjsEngine(model, initWeights(model.graph, 1), DEFAULT_TEST_OPTIMIZER, runtime)).toThrow(
      `graph 'tiny': node '${product.name}' (matmul) reads embedding table 'emb/t' as operand 1`,
    );
  });

  it('keeps an embedding table no lookup reads, with its weights and optimizer state', async () => {
    const model = buildModel(smallSchema(), { towers: [3], embeddingDim: 2, numericDim: 2 });
    const extra = { name: 'emb/unused', type: { dtype: 'f32' as const, shape: [4, 2] }, init: { kind: 'normal' as const, std: 0.1 }, kind: 'embedding' as const };
    const withUnused = { ...model, graph: { ...model.graph, params: [...model.graph.params, extra] } };
    const weights = initWeights(withUnused.graph, 3);
    const engine = new TfjsEngine(withUnused, weights, DEFAULT_TEST_OPTIMIZER, await cpuRuntime());
    expect(engine.getWeights().get('emb/unused')).toEqual(weights.get('emb/unused'));
    expect(engine.getState().get('adam/m/emb/unused')!.shape).toEqual([4, 2]);
    engine.dispose();
  });

  it('refuses initial weights that do not fit the model with the message of core, as the onnx engine does', async () => {
    const model = buildModel(smallSchema(), { towers: [3], embeddingDim: 2, numericDim: 2 });
    const weights = initWeights(model.graph, 3);
    weights.delete('emb/user');
    const runtime = await cpuRuntime();
    expect(() => new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, runtime)).toThrow(/initial weights do not fit model '.*': param 'emb\/user' has no weights/);
  });
});
