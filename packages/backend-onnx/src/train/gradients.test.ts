import { buildModel, grad, gradName, initWeights, interpret, MODEL_NAMES } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import { encodeModel } from '../proto/codec.js';
import { OnnxSession } from '../runtime/session.js';

/** The IR's autodiff graph compiled to ONNX: every parameter's gradient as onnxruntime computes it vs the f64 interpreter. */
describe('gradients on onnxruntime', () => {
  const schema = smallSchema();
  for (const name of MODEL_NAMES) {
    it(`${name}: every parameter gradient equals the interpreter's within 1e-4 relative`, async () => {
      const model = buildModel(schema, { model: name, towers: [8, 4], embeddingDim: 4, numericDim: 3 });
      const weights = initWeights(model.graph, 23);
      const graph = grad(model.graph);
      const outputs = model.graph.params.map((p) => gradName(p.name));
      const session = await OnnxSession.load(encodeModel(modelProto(compileGraph(graph, weights, { outputs }))));
      const feeds = randomFeeds(model.graph, schema, 32, 24);
      const [got, want] = [await session.run(feeds, outputs), interpret(graph, weights, feeds, { outputs })];
      for (const o of outputs) {
        const [a, b] = [got[o]!.data, want[o]!.data];
        const scale = Math.max(...Array.from(b, Math.abs));
        expect(scale, o).toBeGreaterThan(0);
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `${o}[${i}]`).toBeLessThanOrEqual(1e-4 * Math.max(Math.abs(b[i]!), scale * 1e-2));
      }
      await session.release();
    });
  }
});
