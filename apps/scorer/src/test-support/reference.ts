import { interpret, pruneGraph, type Graph, type Weights } from '@esm2/core';
import { batchToFeeds, type Encoders } from '@esm2/data';
import { expect } from 'vitest';

/**
 * The core interpreter's predictions for JSON-style rows, encoded by
 * `encoders` and run on `graph` (pruned to `predictions`) with `weights`:
 * the reference a scorer must match, independent of onnxruntime and of the
 * scorer's own request parsing and encoding.
 */
export function interpretedScores(
  graph: Graph,
  weights: Weights,
  encoders: Encoders,
  rows: Record<string, unknown>[],
  predictions: readonly string[] = ['pctr', 'pctavr', 'pcvr', 'pctcvr'],
): Record<string, number>[] {
  const scoring = pruneGraph(graph, [...predictions]);
  const out = interpret(scoring, weights, batchToFeeds(scoring, encoders.encodeRows(rows)));
  return rows.map((_, i) => Object.fromEntries(predictions.map((p) => [p, out[p]!.data[i]!])));
}

/** Every score of `got` within `tolerance` (default 1e-6) of `want`'s: the same rows, the same predictions in the same order. */
export function expectClose(got: Record<string, number>[], want: Record<string, number>[], label = '', tolerance = 1e-6): void {
  expect(got.map((r) => Object.keys(r)), label).toEqual(want.map((r) => Object.keys(r)));
  got.forEach((r, i) => {
    for (const [k, v] of Object.entries(r)) expect(Math.abs(v - want[i]![k]!), `${label} row ${i} ${k}: ${v} vs ${want[i]![k]}`).toBeLessThan(tolerance);
  });
}
