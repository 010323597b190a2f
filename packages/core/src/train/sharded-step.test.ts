import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { GraphBuilder, ops } from '../ir/builder.js';
import { initWeights } from '../ir/init.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel, MODEL_NAMES } from '../zoo/index.js';
import { HostEmbeddingEngine, interpretCompiler, shardRows } from './host-engine.js';
import { buildShardedStep } from './sharded-step.js';

/** Data-parallel steps (workers > 1) on the interpreter: the same training as one worker's. */
describe('sharded training step', () => {
  const schema = smallSchema();

  it('splits a batch into contiguous near-equal shards, fewer when it has fewer rows', () => {
    expect(shardRows(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
    expect(shardRows(2, 4)).toEqual([[0, 1], [1, 2]]);
    expect(shardRows(1, 2)).toEqual([[0, 1]]);
  });

  for (const name of MODEL_NAMES) {
    it(`${name}: 20 steps with 2 and 3 workers give the losses and weights of 1 worker (uneven shards, a batch of 2 and one of 1 row, clipping, both embedding optimizers)`, async () => {
      const model = buildModel(schema, { model: name, towers: [8, 4], embeddingDim: 4, numericDim: 3 });
      const weights = initWeights(model.graph, 11);
      // Clipping on for esm2 and dnn-os (tight enough to bind), Adagrad rows for esmm.
      const optimizer = {
        ...DEFAULT_OPTIMIZER,
        lr: 0.01,
        clipNorm: name === 'esm2' || name === 'dnn-os' ? 0.05 : 0,
        embeddingOptimizer: name === 'esmm' ? ('adagrad' as const) : ('adam' as const),
      };
      const engines = await Promise.all(
        [1, 2, 3].map((workers) => HostEmbeddingEngine.create({ model, weights, optimizer }, interpretCompiler, 'interpreter', '', { workers })),
      );
      for (let s = 0; s < 20; s++) {
        const feeds = randomFeeds(model.graph, schema, s === 5 ? 2 : s === 6 ? 1 : 23, 100 + s);
        const [one, ...many] = await Promise.all(engines.map((e) => e.step(feeds)));
        for (const r of many) for (const l of model.losses) expect(r.losses[l]!, `${l} step ${s}`).toBeCloseTo(one!.losses[l]!, 5);
      }
      const [w1, ...rest] = engines.map((e) => e.getWeights());
      let moved = 0;
      for (const w of rest) {
        for (const p of model.graph.params) {
          const [x, y] = [w.get(p.name)!, w1!.get(p.name)!];
          for (let i = 0; i < x.length; i++) {
            expect(Math.abs(x[i]! - y[i]!), `${p.name}[${i}]`).toBeLessThan(1e-5);
            moved = Math.max(moved, Math.abs(y[i]! - weights.get(p.name)![i]!));
          }
        }
      }
      expect(moved).toBeGreaterThan(0.01);
      expect([...engines[1]!.getState().keys()]).toEqual([...engines[0]!.getState().keys()]);
    });
  }

  it('refuses a model whose graph mixes rows other than through mean or weightedMean, naming the node', () => {
    const b = new GraphBuilder('sum-loss');
    const w = b.param('w', [3], { kind: 'zeros' });
    const x = b.input('x', 'f32', ['batch', 3]);
    b.output('loss', ops.sum(b, ops.mul(b, x, w)));
    const model = { ...buildModel(schema), graph: b.build(), losses: ['loss'] };
    expect(() => buildShardedStep(model, DEFAULT_OPTIMIZER)).toThrow(/graph 'sum-loss' cannot be split across workers: node '%\d+' \(sum\) reduces over the batch/);
  });
});
