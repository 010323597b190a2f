import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, initWeights, interpret, parseFeatureSchema, type Graph, type Weights } from '@esm2/core';
import { randomFeeds, smallSchema, worstError } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../proto/codec.js';
import { OnnxSession } from '../runtime/session.js';
import { checkOnnxFiles } from '../test-support/onnx-checker.js';
import { trainingGraph, zooModel, ZOO_VARIANTS } from '../test-support/graphs.js';
import { compileGraph } from './compile.js';
import { modelProto } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-zoo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  graph: Graph;
  weights: Weights;
  outputs: string[];
  path: string;
}

/** Scoring export (predictions + towers) and whole training step (losses + every gradient) per zoo variant. */
const cases = new Map<string, Case>();
for (const variant of Object.keys(ZOO_VARIANTS)) {
  const model = zooModel(variant);
  const weights = initWeights(model.graph, 7);
  const scoring = [...model.predictions, ...model.towers];
  cases.set(`${variant} scoring`, { graph: model.graph, weights, outputs: scoring, path: join(dir, `${variant}.onnx`) });
  const train = trainingGraph(model);
  cases.set(`${variant} training step`, { graph: train, weights, outputs: Object.keys(train.outputs), path: join(dir, `${variant}-train.onnx`) });
}
// The paper-sized default: 9 categorical fields, dim 16, towers 256-128-64.
const paperSchema = parseFeatureSchema({
  fields: Array.from({ length: 9 }, (_, i) => ({ kind: 'categorical', name: `f${i}`, encoding: { kind: 'vocabulary', size: 50 + i } })),
});
const paper = buildModel(paperSchema, {});
cases.set('esm2 paper-sized scoring', {
  graph: paper.graph,
  weights: initWeights(paper.graph, 3),
  outputs: [...paper.predictions, ...paper.towers],
  path: join(dir, 'esm2-paper.onnx'),
});

beforeAll(() => {
  for (const c of cases.values()) writeFileSync(c.path, encodeModel(modelProto(compileGraph(c.graph, c.weights, { outputs: c.outputs }))));
});

describe('zoo exports', () => {
  it('all pass the official ONNX checker with full shape inference', (test) => {
    checkOnnxFiles(test, [...cases.values()].map((c) => c.path));
  });

  for (const [name, c] of cases) {
    it(`${name}: onnxruntime equals the interpreter within 1e-5 at batch 1 and 37`, async () => {
      const session = await OnnxSession.load(c.path);
      expect([...session.outputNames]).toEqual(c.outputs);
      const schema = name.includes('paper') ? paperSchema : smallSchema();
      for (const batch of [1, 37]) {
        const feeds = randomFeeds(c.graph, schema, batch, batch * 101);
        const want = interpret(c.graph, c.weights, feeds, { outputs: c.outputs });
        const got = await session.run(feeds);
        for (const o of c.outputs) {
          expect(got[o]!.shape, o).toEqual(want[o]!.shape);
          expect(worstError(got[o]!.data, want[o]!), `${o} at batch ${batch}`).toBeLessThan(1e-5);
        }
      }
      await session.release();
    });
  }

  it('scoring exports take no labels and expose the predictions and towers with a symbolic batch dim', async () => {
    const c = cases.get('esm2 scoring')!;
    const session = await OnnxSession.load(c.path);
    expect([...session.inputNames].sort()).toEqual(['age', 'item', 'price', 'tags', 'user']);
    expect([...session.outputNames]).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr', 'y1', 'y2', 'y3', 'y4']);
    await session.release();
  });
});
