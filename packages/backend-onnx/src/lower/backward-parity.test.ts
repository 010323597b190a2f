import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initWeights, interpret } from '@esm2/core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../proto/codec.js';
import { OnnxSession } from '../runtime/session.js';
import { edgeOpsFeeds, edgeOpsGraph, worstError } from '@esm2/core/testing';
import { checkOnnxFiles } from '../test-support/onnx-checker.js';
import { compileGraph } from './compile.js';
import { modelProto } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-backward-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backward and optimizer ops', () => {
  const graph = edgeOpsGraph();
  const weights = initWeights(graph, 11);
  const path = join(dir, 'backward.onnx');
  writeFileSync(path, encodeModel(modelProto(compileGraph(graph, weights))));

  it('compile to a model the official checker accepts (full_check)', (test) => {
    checkOnnxFiles(test, [path]);
  });

  it.each([
    ['random rows', 29, 'random'],
    ['one row', 1, 'random'],
    ['all weights zero', 9, 'zero'],
  ] as const)('match the interpreter within 1e-5: %s', async (_label, batch, weightKind) => {
    const session = await OnnxSession.load(path);
    const feeds = edgeOpsFeeds(batch, batch + 5, weightKind);
    const want = interpret(graph, weights, feeds);
    // The session answers float outputs only (it serves scores): the graph's one int output, ids reshaped, is left out.
    const outputs = Object.keys(graph.outputs).filter((o) => !(want[o]!.data instanceof Int32Array));
    const got = await session.run(feeds, outputs);
    expect(outputs.length).toBe(Object.keys(graph.outputs).length - 1);
    for (const o of outputs) {
      expect(got[o]!.shape, o).toEqual(want[o]!.shape);
      expect(worstError(got[o]!.data, want[o]!), o).toBeLessThan(1e-5);
    }
    await session.release();
  });

  it('skip padding ids and give a row of padding nothing (scatter rows are not wrapped to the end)', async () => {
    const session = await OnnxSession.load(path);
    const feeds = edgeOpsFeeds(2, 1);
    feeds.ids = { shape: [2], data: Int32Array.of(-1, -1) };
    feeds.multi = { shape: [2, 3], data: Int32Array.of(-1, -1, -1, 2, -1, 2) };
    const got = await session.run(feeds, ['scatterAdd', 'pooledScatterMean']);
    expect([...got.scatterAdd!.data].every((v) => v === 0)).toBe(true);
    const dy = feeds.dy!.data;
    const table = got.pooledScatterMean!.data;
    // Row 1 holds id 2 twice: mean gives each half the row's gradient, so row 2 of the table gets all of it.
    for (let d = 0; d < 4; d++) expect(table[2 * 4 + d]).toBeCloseTo(dy[4 + d]!, 6);
    expect([...table].filter((v) => v !== 0)).toHaveLength(4);
    await session.release();
  });
});
