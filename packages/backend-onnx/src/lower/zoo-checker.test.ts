import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, grad, initWeights, interpret, type FeatureSchema, type Graph, type Weights } from '@esm2/core';
import { defaultConfigCases, TOLERANCES, zooCases } from '@esm2/core/conformance';
import { edgeOpsGraph, randomFeeds, smallSchema, worstError } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../proto/codec.js';
import { OnnxSession } from '../runtime/session.js';
import { checkOnnxFiles } from '../test-support/onnx-checker.js';
import { compileGraph } from './compile.js';
import { modelProto } from './model.js';

// What onnxruntime computes is the conformance suite's (src/conformance.test.ts); here: the models
// themselves are valid ONNX, for every graph the suite generates, and scoring exports as sessions run them.
const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-zoo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Model {
  graph: Graph;
  weights: Weights;
  outputs?: string[];
  path: string;
  /** The schema of a zoo model's scoring export, for its feeds. */
  schema?: FeatureSchema;
}

/** Scoring export (predictions + towers) and training graph (losses + every gradient) of every generated zoo case, each model's default config, and the edge-ops graph. */
const models: Model[] = [];
for (const [k, zoo] of [...zooCases({}, ['relu', 'tanh']), ...defaultConfigCases()].entries()) {
  const model = buildModel(zoo.schema, zoo.config);
  const weights = initWeights(model.graph, 7);
  models.push({ graph: model.graph, weights, outputs: [...model.predictions, ...model.towers], path: join(dir, `${k}.onnx`), schema: zoo.schema });
  models.push({ graph: grad(model.graph), weights, path: join(dir, `${k}-train.onnx`) });
}
const edge = edgeOpsGraph();
models.push({ graph: edge, weights: initWeights(edge, 11), path: join(dir, 'edge-ops.onnx') });

beforeAll(() => {
  for (const m of models) writeFileSync(m.path, encodeModel(modelProto(compileGraph(m.graph, m.weights, m.outputs ? { outputs: m.outputs } : {}))));
});

describe('onnx models of every generated zoo graph and the edge-ops graph', () => {
  it('all pass the official ONNX checker with full shape inference', (test) => {
    checkOnnxFiles(
      test,
      models.map((m) => m.path),
    );
  });

  // The suite compiles parameters as inputs; a scoring export holds them as initializers and runs in OnnxSession.
  it(`scoring exports (weights as initializers) run by OnnxSession equal the interpreter within ${TOLERANCES.forward} at batch 1 and 37`, async () => {
    for (const m of models.filter((m) => m.schema)) {
      const session = await OnnxSession.load(m.path);
      expect([...session.outputNames]).toEqual(m.outputs);
      for (const batch of [1, 37]) {
        const feeds = randomFeeds(m.graph, m.schema!, batch, batch * 101);
        const want = interpret(m.graph, m.weights, feeds, { outputs: m.outputs! });
        const got = await session.run(feeds);
        for (const o of m.outputs!) expect(worstError(got[o]!.data, want[o]!), `${m.path}: ${o} at batch ${batch}`).toBeLessThan(TOLERANCES.forward);
      }
      await session.release();
    }
  });

  it('scoring exports take no labels and expose the predictions and towers with a symbolic batch dim', async () => {
    const model = buildModel(smallSchema(), { model: 'esm2', towers: [8, 4] });
    const path = join(dir, 'esm2-scoring.onnx');
    writeFileSync(path, encodeModel(modelProto(compileGraph(model.graph, initWeights(model.graph, 7), { outputs: [...model.predictions, ...model.towers] }))));
    const session = await OnnxSession.load(path);
    expect([...session.inputNames].sort()).toEqual(['age', 'item', 'price', 'tags', 'user']);
    expect([...session.outputNames]).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr', 'y1', 'y2', 'y3', 'y4']);
    await session.release();
  });
});
