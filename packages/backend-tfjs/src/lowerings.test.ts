import { GraphBuilder, OP_NAMES, buildModel, grad, interpret, ops, type Graph, type HostTensor } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompiledGraph } from './compile.js';
import { cpuRuntime } from './testing/engine.js';
import { expectClose } from './testing/expect-close.js';
import { ZOO_CASES, randomWeights } from './testing/fixtures.js';

beforeAll(cpuRuntime);

/** Runs a graph through the tfjs lowerings and returns every output on the host. */
function runTf(graph: Graph, params: Map<string, Float32Array>, feeds: Record<string, HostTensor>): Record<string, Float32Array> {
  const compiled = new CompiledGraph(graph);
  return tf.tidy(() => {
    const values = new Map<string, tf.Tensor>();
    for (const input of graph.inputs) {
      const t = feeds[input.name]!;
      values.set(input.name, input.type.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), t.shape, 'int32') : tf.tensor(Float32Array.from(t.data), t.shape));
    }
    for (const p of graph.params) values.set(p.name, tf.tensor(params.get(p.name)!, p.type.shape as number[]));
    const outs = compiled.run(values, Object.keys(graph.outputs));
    return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
  });
}

/** Ops and attribute variants the zoo does not emit: sub, transposed matmuls, sumTo to several shapes, edge cases. */
function edgeGraph(): Graph {
  const b = new GraphBuilder('edges');
  const x = b.input('x', 'f32', ['batch', 3]);
  const w = b.input('w', 'f32', ['batch']);
  const a = b.param('a', [3, 4], { kind: 'zeros' });
  const c = b.param('c', [5, 3], { kind: 'zeros' });
  const none = {} as Record<string, never>;
  b.output('sub', ops.sub(b, x, b.op('sumTo', [x], { shape: [1, 3] })));
  b.output('matmulTT', b.op('matmul', [a, c], { transA: true, transB: true }));
  b.output('matmulT', b.op('matmul', [x, c], { transB: true }));
  b.output('sumToRow', b.op('sumTo', [x], { shape: [3] }));
  b.output('sumToCol', b.op('sumTo', [x], { shape: ['batch', 1] }));
  b.output('zeroWeights', ops.weightedMean(b, w, ops.mul(b, w, ops.constant(b, 0))));
  b.output('wmGradZero', b.op('weightedMeanGrad', [ops.constant(b, 2), ops.mul(b, w, ops.constant(b, 0))], none));
  b.output('sqrtDiv', ops.div(b, ops.sqrt(b, ops.maximum(b, x, ops.constant(b, 0.1))), ops.add(b, ops.sum(b, ops.mul(b, x, x)), ops.constant(b, 1))));
  b.output('slice', b.op('slice', [x], { axis: 1, start: 1, size: 2 }));
  return b.build();
}

describe('lowerings', () => {
  it('edge-case ops match the interpreter', () => {
    const g = edgeGraph();
    const params = randomWeights(g, 9);
    const feeds = {
      x: { shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)) },
      w: { shape: [4], data: Float32Array.of(0.5, 1, 2, 0) },
    };
    const want = interpret(g, params, feeds);
    const got = runTf(g, params, feeds);
    for (const name of Object.keys(g.outputs)) expectClose(got[name]!, want[name]!.data, 1e-6, 1e-5, name);
  });

  it('pooled lookups of padding-only rows give zero (mean divides by the real count)', () => {
    const b = new GraphBuilder('pool');
    const t = b.param('t', [3, 2], { kind: 'zeros' }, 'embedding');
    const ids = b.input('ids', 'i32', ['batch', 3]);
    b.output('mean', ops.pooledGather(b, t, ids, 'mean'));
    b.output('sum', ops.pooledGather(b, t, ids, 'sum'));
    const g = b.build();
    const params = new Map([['t', Float32Array.of(1, 2, 3, 4, 5, 6)]]);
    const feeds = { ids: { shape: [3, 3], data: Int32Array.of(-1, -1, -1, 2, -1, 0, 1, 1, 1) } };
    const got = runTf(g, params, feeds);
    expect([...got.mean!]).toEqual([0, 0, 3, 4, 3, 4]);
    expect([...got.sum!]).toEqual([0, 0, 6, 8, 9, 12]);
  });

  it('the graphs under test exercise every op of the IR', () => {
    const seen = new Set(edgeGraph().nodes.map((n) => n.op));
    for (const c of ZOO_CASES) {
      const m = buildModel(smallSchema(), c.config);
      for (const g of [m.graph, grad(m.graph)]) for (const n of g.nodes) seen.add(n.op);
    }
    expect(OP_NAMES.filter((op) => !seen.has(op))).toEqual([]);
  });
});
