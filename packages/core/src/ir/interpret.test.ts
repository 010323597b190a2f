import { describe, expect, it } from 'vitest';
import { GraphBuilder, ops } from './builder.js';
import { interpret, InterpretError } from './interpret.js';
import { pruneGraph } from './prune.js';

const f = (...xs: number[]) => Float32Array.from(xs);

describe('interpret', () => {
  it('computes lookups, pooling, concat, dense, broadcasting by hand', () => {
    const b = new GraphBuilder('hand');
    const ids = b.input('ids', 'i32', ['batch']);
    const bag = b.input('bag', 'i32', ['batch', 2]);
    const table = b.param('t', [3, 2], { kind: 'zeros' });
    const w = b.param('w', [4, 1], { kind: 'zeros' });
    const bias = b.param('b', [1], { kind: 'zeros' });
    const x = ops.concat(b, [ops.gather(b, table, ids), ops.pooledGather(b, table, bag, 'mean')], 1);
    const y = ops.add(b, ops.matmul(b, x, w), bias);
    b.output('x', x);
    b.output('y', y);
    const params = new Map([
      ['t', f(1, 2, 3, 4, 5, 6)],
      ['w', f(1, 10, 100, 1000)],
      ['b', f(0.5)],
    ]);
    const out = interpret(b.build(), params, {
      ids: { shape: [2], data: Int32Array.of(2, 0) },
      bag: { shape: [2, 2], data: Int32Array.of(0, 1, 1, -1) },
    });
    // row 0: t[2]=(5,6), mean(t0,t1)=(2,3); row 1: t[0]=(1,2), t[1] alone=(3,4)
    expect(Array.from(out.x!.data)).toEqual([5, 6, 2, 3, 1, 2, 3, 4]);
    expect(Array.from(out.y!.data)).toEqual([5 + 60 + 200 + 3000 + 0.5, 1 + 20 + 300 + 4000 + 0.5]);
  });

  it('broadcasts a batch of zero rows with a scalar or a row to zero rows, not one (as numpy does)', () => {
    const b = new GraphBuilder('empty');
    const x = b.input('x', 'f32', ['batch', 4]);
    b.output('scaled', ops.mul(b, x, ops.constant(b, 2)));
    b.output('shifted', ops.add(b, ops.constant(b, 1), x));
    const out = interpret(b.build(), new Map(), { x: { shape: [0, 4], data: new Float32Array(0) } });
    for (const name of ['scaled', 'shifted']) {
      expect(out[name]!.shape, name).toEqual([0, 4]);
      expect(out[name]!.data.length, name).toBe(0);
    }
    const one = interpret(b.build(), new Map(), { x: { shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) } });
    expect(Array.from(one.shifted!.data)).toEqual([2, 3, 4, 5]);
  });

  it('computes a safe BCE that stays finite at 0 and 1', () => {
    const b = new GraphBuilder('bce');
    const p = b.input('p', 'f32', ['batch']);
    const y = b.input('y', 'f32', ['batch']);
    b.output('l', ops.bce(b, p, y, 1e-7));
    b.output('m', ops.mean(b, ops.bce(b, p, y, 1e-7)));
    const out = interpret(b.build(), new Map(), { p: { shape: [3], data: f(0, 1, 0.25) }, y: { shape: [3], data: f(1, 1, 0) } });
    const l = Array.from(out.l!.data);
    expect(l[0]).toBeCloseTo(-Math.log(1e-7), 10);
    expect(l[1]).toBeCloseTo(-Math.log(1 - 1e-7), 12);
    expect(l[2]).toBeCloseTo(-Math.log(0.75), 6);
    expect(out.m!.data[0]).toBeCloseTo((l[0]! + l[1]! + l[2]!) / 3, 12);
  });

  it('weightedMean ignores zero-weight rows and is 0 for an all-zero weight batch', () => {
    const b = new GraphBuilder('wm');
    const x = b.input('x', 'f32', ['batch']);
    const w = b.input('w', 'f32', ['batch']);
    b.output('m', ops.weightedMean(b, x, w));
    const g = b.build();
    expect(interpret(g, new Map(), { x: { shape: [3], data: f(1, 5, 9) }, w: { shape: [3], data: f(1, 0, 3) } }).m!.data[0]).toBe(7);
    expect(interpret(g, new Map(), { x: { shape: [2], data: f(1, 5) }, w: { shape: [2], data: f(0, 0) } }).m!.data[0]).toBe(0);
  });

  it('matmul transposes agree with explicit layouts', () => {
    const b = new GraphBuilder('mm');
    const a = b.input('a', 'f32', [2, 3]);
    const at = b.input('at', 'f32', [3, 2]);
    const c = b.input('c', 'f32', [3, 2]);
    const ct = b.input('ct', 'f32', [2, 3]);
    b.output('plain', ops.matmul(b, a, c));
    b.output('tA', b.op('matmul', [at, c], { transA: true }));
    b.output('tB', b.op('matmul', [a, ct], { transB: true }));
    const A = [1, 2, 3, 4, 5, 6];
    const C = [7, 8, 9, 10, 11, 12];
    const T = (m: number[], r: number, k: number) => Array.from({ length: r * k }, (_, i) => m[(i % k) * r + Math.floor(i / k)]!);
    const out = interpret(b.build(), new Map(), {
      a: { shape: [2, 3], data: f(...A) },
      at: { shape: [3, 2], data: f(...T(A, 3, 2)) },
      c: { shape: [3, 2], data: f(...C) },
      ct: { shape: [2, 3], data: f(...T(C, 2, 3)) },
    });
    expect(Array.from(out.plain!.data)).toEqual([58, 64, 139, 154]);
    expect(Array.from(out.tA!.data)).toEqual([58, 64, 139, 154]);
    expect(Array.from(out.tB!.data)).toEqual([58, 64, 139, 154]);
  });

  it('pairwiseDot gives the upper triangle of each row\'s Gram matrix, and pairwiseDotGrad its transpose map', () => {
    const b = new GraphBuilder('pairs');
    const x = b.input('x', 'f32', ['batch', 3, 2]);
    const dy = b.input('dy', 'f32', ['batch', 3]);
    b.output('dots', ops.pairwiseDot(b, x));
    b.output('dx', b.op('pairwiseDotGrad', [dy, x], {}));
    const out = interpret(b.build(), new Map(), {
      // row 0: fields (1,2), (3,4), (5,6); row 1: (1,0), (0,1), (2,-1)
      x: { shape: [2, 3, 2], data: f(1, 2, 3, 4, 5, 6, 1, 0, 0, 1, 2, -1) },
      dy: { shape: [2, 3], data: f(1, 10, 100, 1, 0, 0) },
    });
    expect(out.dots!.shape).toEqual([2, 3]);
    // pairs in order 0·1, 0·2, 1·2
    expect(Array.from(out.dots!.data)).toEqual([11, 17, 39, 0, 2, -1]);
    // dx_i = Σ_j dy(i,j)·x_j: row 0, dx_0 = 1·(3,4) + 10·(5,6), dx_1 = 1·(1,2) + 100·(5,6), dx_2 = 10·(1,2) + 100·(3,4)
    expect(Array.from(out.dx!.data)).toEqual([53, 64, 501, 602, 310, 420, 0, 1, 1, 0, 0, 0]);
  });

  it('reports out-of-range ids, missing inputs and batch disagreement', () => {
    const b = new GraphBuilder('err');
    const ids = b.input('ids', 'i32', ['batch']);
    const x = b.input('x', 'f32', ['batch']);
    const t = b.param('t', [3, 1], { kind: 'zeros' });
    b.output('g', ops.gather(b, t, ids));
    b.output('x2', ops.mul(b, x, x));
    const g = b.build();
    const params = new Map([['t', f(0, 0, 0)]]);
    expect(() => interpret(g, params, { ids: { shape: [2], data: Int32Array.of(1, 3) } }, { outputs: ['g'] })).toThrow(
      new InterpretError("node %0 (gather): id 3 at row 1 is outside the table's 3 rows"),
    );
    expect(() => interpret(g, params, { ids: { shape: [1], data: Int32Array.of(0) } })).toThrow("missing input 'x'");
    expect(() =>
      interpret(g, params, { ids: { shape: [1], data: Int32Array.of(0) }, x: { shape: [2], data: f(1, 2) } }),
    ).toThrow("input 'x' has batch size 2, others have 1");
  });

  it('pruning keeps only what the chosen outputs need', () => {
    const b = new GraphBuilder('p');
    const x = b.input('x', 'f32', ['batch']);
    const y = b.input('y', 'f32', ['batch'], 'label');
    const p = ops.sigmoid(b, x);
    b.output('p', p);
    b.output('loss', ops.mean(b, ops.bce(b, p, y)));
    const pruned = pruneGraph(b.build(), ['p']);
    expect(pruned.inputs.map((i) => i.name)).toEqual(['x']);
    expect(pruned.nodes.map((n) => n.op)).toEqual(['sigmoid']);
    expect(Object.keys(pruned.outputs)).toEqual(['p']);
  });
});
