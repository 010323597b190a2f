import { describe, expect, it } from 'vitest';
import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import type { HostTensor } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';
import { mulberry32 } from '../random.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { buildModel, INTERACTIONS, MODEL_NAMES } from '../zoo/index.js';
import { finiteDifference } from './finite-difference.js';
import { grad, gradName } from './grad.js';

/** f64 weights with zero-initialised biases jittered: a dead unit's pre-activation is exactly 0, relu's kink, where no derivative exists. */
function toF64(weights: Map<string, Float32Array>): Map<string, Float64Array> {
  const jitter = mulberry32(99);
  return new Map([...weights].map(([k, v]) => [k, Float64Array.from(v, (x) => (x === 0 ? (jitter() - 0.5) * 0.2 : x))]));
}

/** Asserts autodiff equals central differences on `samples` elements of every parameter. */
function checkAgainstFiniteDifferences(graph: Graph, weights: Map<string, Float64Array>, feeds: Record<string, HostTensor>, samples: number, seed: number) {
  const withGrads = grad(graph);
  const out = interpret(withGrads, weights, feeds);
  const pick = mulberry32(seed);
  let checked = 0;
  for (const p of graph.params) {
    const g = out[gradName(p.name)]!.data;
    expect(g.length).toBe(weights.get(p.name)!.length);
    for (let s = 0; s < samples; s++) {
      const i = Math.floor(pick() * g.length);
      const fd = finiteDifference(graph, weights, feeds, p.name, i);
      expect(Math.abs(g[i]! - fd)).toBeLessThan(1e-6 + 1e-4 * Math.abs(fd));
      checked++;
    }
  }
  return checked;
}

describe('autodiff on the zoo', () => {
  const schema = smallSchema();
  // embeddingDim 3 is the small schema's own 'item' width, so 'dot' can pair every field; numericDim 2 makes it project the numerics.
  for (const name of MODEL_NAMES) for (const interaction of INTERACTIONS) {
    it(`${name}, interaction ${interaction}: gradients equal central finite differences`, () => {
      const model = buildModel(schema, { model: name, interaction, towers: [6, 4], embeddingDim: 3, numericDim: 2, activation: name === 'esmm' ? 'tanh' : 'relu' });
      const weights = toF64(initWeights(model.graph, 3));
      const feeds = randomFeeds(model.graph, schema, 16, 4);
      expect(checkAgainstFiniteDifferences(model.graph, weights, feeds, 3, 5)).toBeGreaterThan(20);
    });
  }

  it('embedding gradients are zero exactly on rows the batch did not touch', () => {
    const model = buildModel(schema, { towers: [4], embeddingDim: 2, numericDim: 2 });
    const feeds = randomFeeds(model.graph, schema, 3, 8);
    const out = interpret(grad(model.graph), initWeights(model.graph, 8), feeds);
    const g = out[gradName('emb/user')]!.data;
    const touched = new Set(feeds.user!.data);
    for (let row = 0; row < 7; row++) {
      const norm = Math.hypot(g[row * 2]!, g[row * 2 + 1]!);
      if (touched.has(row)) expect(norm).toBeGreaterThan(0);
      else expect(norm).toBe(0);
    }
  });
});

/** One graph per forward op: params feed the op, a fixed random projection makes a scalar loss. */
function opGraph(build: (b: GraphBuilder) => Value): Graph {
  const b = new GraphBuilder('op');
  const y = build(b);
  const r = b.input('r', 'f32', y.type.shape, 'label');
  b.output('loss', y.type.shape.length === 0 ? ops.mul(b, y, ops.constant(b, 1.7)) : ops.mean(b, ops.mul(b, y, r)));
  return b.build();
}

describe('autodiff rules, op by op', () => {
  const rand = mulberry32(21);
  const u = () => rand() * 2 - 1;
  const n = 3;
  const cases: Record<string, (b: GraphBuilder) => Value> = {
    'gather': (b) => ops.gather(b, b.param('t', [5, 2], { kind: 'zeros' }), b.input('ids', 'i32', ['batch'])),
    'pooledGather mean': (b) => ops.pooledGather(b, b.param('t', [5, 2], { kind: 'zeros' }), b.input('bag', 'i32', ['batch', 3]), 'mean'),
    'pooledGather sum': (b) => ops.pooledGather(b, b.param('t', [5, 2], { kind: 'zeros' }), b.input('bag', 'i32', ['batch', 3]), 'sum'),
    'concat': (b) => ops.concat(b, [b.param('a', [n, 2], { kind: 'zeros' }), b.param('c', [n, 3], { kind: 'zeros' })], 1),
    'matmul': (b) => ops.matmul(b, b.param('a', [n, 4], { kind: 'zeros' }), b.param('w', [4, 2], { kind: 'zeros' })),
    'matmul transA': (b) => b.op('matmul', [b.param('a', [4, n], { kind: 'zeros' }), b.param('w', [4, 2], { kind: 'zeros' })], { transA: true }),
    'matmul transB': (b) => b.op('matmul', [b.param('a', [n, 4], { kind: 'zeros' }), b.param('w', [2, 4], { kind: 'zeros' })], { transB: true }),
    'matmul both': (b) => b.op('matmul', [b.param('a', [4, n], { kind: 'zeros' }), b.param('w', [2, 4], { kind: 'zeros' })], { transA: true, transB: true }),
    'add broadcast': (b) => ops.add(b, b.param('a', [n, 3], { kind: 'zeros' }), b.param('bias', [3], { kind: 'zeros' })),
    'sub broadcast': (b) => ops.sub(b, b.param('a', [n, 3], { kind: 'zeros' }), b.param('c', [1, 3], { kind: 'zeros' })),
    'mul': (b) => ops.mul(b, b.param('a', [n, 3], { kind: 'zeros' }), b.param('c', [n, 3], { kind: 'zeros' })),
    'mul same value twice': (b) => {
      const a = b.param('a', [n, 3], { kind: 'zeros' });
      return ops.mul(b, a, a);
    },
    'oneMinus': (b) => ops.oneMinus(b, b.param('a', [n, 2], { kind: 'zeros' })),
    'relu': (b) => ops.relu(b, b.param('a', [n, 4], { kind: 'zeros' })),
    'sigmoid': (b) => ops.sigmoid(b, b.param('a', [n, 2], { kind: 'zeros' })),
    'tanh': (b) => ops.tanh(b, b.param('a', [n, 2], { kind: 'zeros' })),
    'bce': (b) => ops.bce(b, b.param('p', [n], { kind: 'zeros' }), b.input('y', 'f32', [n], 'label')),
    'mean': (b) => ops.mean(b, b.param('a', [n, 2], { kind: 'zeros' })),
    'weightedMean': (b) => ops.weightedMean(b, b.param('a', [n], { kind: 'zeros' }), b.input('w', 'f32', [n], 'label')),
    'weightedSum': (b) => ops.weightedSum(b, [ops.mean(b, b.param('a', [2], { kind: 'zeros' })), ops.mean(b, b.param('c', [3], { kind: 'zeros' }))], [0.3, 2]),
    'reshape': (b) => ops.reshape(b, b.param('a', [n, 2], { kind: 'zeros' }), [2 * n]),
    'constant': (b) => ops.mul(b, b.param('a', [n], { kind: 'zeros' }), ops.constant(b, 0.5)),
    'sqrt': (b) => {
      const a = b.param('a', [n, 2], { kind: 'zeros' });
      return ops.sqrt(b, ops.add(b, ops.mul(b, a, a), ops.constant(b, 0.1)));
    },
    'div broadcast': (b) => ops.div(b, b.param('a', [n, 2], { kind: 'zeros' }), ops.add(b, b.param('c', [2], { kind: 'zeros' }), ops.constant(b, 3))),
    'pairwiseDot': (b) => ops.pairwiseDot(b, b.param('a', [n, 4, 3], { kind: 'zeros' })),
    'pairwiseDot of a reshaped concat (as the dot interaction uses it)': (b) =>
      ops.pairwiseDot(b, ops.reshape(b, ops.concat(b, [b.param('a', [n, 2], { kind: 'zeros' }), b.param('c', [n, 4], { kind: 'zeros' })], 1), [n, 3, 2])),
    'sum': (b) => ops.sum(b, ops.mul(b, b.param('a', [n, 2], { kind: 'zeros' }), b.param('c', [n, 2], { kind: 'zeros' }))),
  };
  for (const [label, build] of Object.entries(cases)) {
    it(label, () => {
      const graph = opGraph(build);
      const weights = new Map<string, Float64Array>();
      for (const p of graph.params) {
        const size = (p.type.shape as number[]).reduce((a, d) => a * d, 1);
        // Probabilities stay inside (0,1) and away from relu's kink.
        weights.set(p.name, Float64Array.from({ length: size }, () => (p.name === 'p' ? 0.1 + 0.8 * rand() : u() + (u() > 0 ? 0.05 : -0.05))));
      }
      const feeds: Record<string, HostTensor> = {};
      for (const i of graph.inputs) {
        const shape = i.type.shape.map((d) => (d === 'batch' ? n : d));
        const size = shape.reduce((a, d) => a * d, 1);
        const data =
          i.name === 'ids' ? Int32Array.of(1, 4, 1) : i.name === 'bag' ? Int32Array.of(0, 2, -1, 4, 4, 1, -1, -1, -1)
          : i.name === 'y' ? Float32Array.of(1, 0, 1) : i.name === 'w' ? Float32Array.of(1, 0, 2)
          : Float32Array.from({ length: size }, u);
        feeds[i.name] = { shape, data };
      }
      const checked = checkAgainstFiniteDifferences(graph, weights, feeds, 4, 1);
      expect(checked).toBeGreaterThan(0);
    });
  }
});
