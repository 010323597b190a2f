import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { artifactFromModel } from './artifact.js';

describe('artifactFromModel', () => {
  const schema = smallSchema();
  const model = buildModel(schema, { model: 'dnn-os', towers: [8, 4] });
  const weights = initWeights(model.graph, 3);

  it('takes the model description from the zoo model and defaults encoders and createdAt', () => {
    const a = artifactFromModel(model, schema, weights);
    expect(a.model).toEqual({ name: 'dnn-os', config: model.config, predictions: ['pctr', 'pcvr', 'pctcvr'], towers: [], losses: ['loss', 'loss_ctr', 'loss_cvr'] });
    expect(a.graph).toBe(model.graph);
    expect(a.weights).toBe(weights);
    expect(a.encoders).toBeNull();
    expect(new Date(a.metadata.createdAt as string).toISOString()).toBe(a.metadata.createdAt);
    expect('state' in a).toBe(false);
  });

  it('merges extras, letting the caller override createdAt', () => {
    const state = new Map([['step', { dtype: 'i32' as const, shape: [], data: Int32Array.of(7) }]]);
    const a = artifactFromModel(model, schema, weights, { encoders: { v: 1 }, metadata: { createdAt: 'then', epoch: 2 }, state });
    expect(a.metadata).toEqual({ createdAt: 'then', epoch: 2 });
    expect(a.encoders).toEqual({ v: 1 });
    expect(a.state).toBe(state);
  });
});
