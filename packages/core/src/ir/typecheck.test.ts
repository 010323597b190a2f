import { describe, expect, it } from 'vitest';
import { GraphBuilder, ops } from './builder.js';
import { pairCount, symmetricPairIndex, upperTrianglePairs } from './ops.js';
import { GraphTypeError, typecheck } from './typecheck.js';
import type { Graph } from './types.js';

function tinyGraph(): Graph {
  const b = new GraphBuilder('tiny');
  const ids = b.input('ids', 'i32', ['batch']);
  const table = b.param('emb', [10, 4], { kind: 'normal', std: 0.1 }, 'embedding');
  const w = b.param('w', [4, 2], { kind: 'glorotUniform' });
  const h = ops.matmul(b, ops.gather(b, table, ids), w);
  b.output('h', ops.relu(b, h));
  return b.build();
}

describe('typecheck', () => {
  it('accepts a well-formed graph and returns every value type', () => {
    const env = typecheck(tinyGraph());
    expect(env.get('%1')).toEqual({ dtype: 'f32', shape: ['batch', 2] });
  });

  it('names the node whose declared type disagrees with its op', () => {
    const g = tinyGraph();
    g.nodes[1]!.type = { dtype: 'f32', shape: ['batch', 3] };
    expect(() => typecheck(g)).toThrow(new GraphTypeError('node %1 (matmul): declared f32[batch,3] but the op gives f32[batch,2]'));
  });

  it('rejects mismatched matmul dimensions with both operand types', () => {
    const g = tinyGraph();
    g.params[1]!.type = { dtype: 'f32', shape: [5, 2] };
    expect(() => typecheck(g)).toThrow('node %1 (matmul): inner dimensions differ: f32[batch,4] × f32[5,2]');
  });

  it('rejects an operand used before it is defined', () => {
    const g = tinyGraph();
    g.nodes[0]!.inputs = ['emb', '%2'];
    expect(() => typecheck(g)).toThrow("node %0 (gather): input 1 '%2' is not defined before this node");
  });

  it('rejects float ids for a lookup', () => {
    const g = tinyGraph();
    g.inputs[0]!.type = { dtype: 'f32', shape: ['batch'] };
    expect(() => typecheck(g)).toThrow('node %0 (gather): ids must be i32[n], got f32[batch]');
  });

  it('rejects unknown ops, duplicate names and dangling outputs', () => {
    const g1 = tinyGraph();
    (g1.nodes[2] as { op: string }).op = 'softmax';
    expect(() => typecheck(g1)).toThrow('node %2 (softmax): unknown op');
    const g2 = tinyGraph();
    g2.params[1]!.name = 'emb';
    expect(() => typecheck(g2)).toThrow("param 'emb': name 'emb' is defined twice");
    const g3 = tinyGraph();
    g3.outputs['z'] = '%9';
    expect(() => typecheck(g3)).toThrow("output 'z': refers to undefined value '%9'");
  });

  it('the builder refuses a malformed op at the point of construction', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'f32', ['batch', 3]);
    const y = b.input('y', 'f32', ['batch', 4]);
    expect(() => ops.add(b, x, y)).toThrow('node %0 (add) on x, y: cannot broadcast f32[batch,3] with f32[batch,4]');
    expect(() => ops.reshape(b, x, [3])).toThrow('batch dimension must be kept');
    expect(() => ops.weightedSum(b, [x], [1])).toThrow('input 0 must be a scalar, got f32[batch,3]');
  });

  it('types pairwiseDot and its gradient, refusing operands that are not f32[n,F,D] with F ≥ 2', () => {
    const b = new GraphBuilder('pairs');
    const x = b.input('x', 'f32', ['batch', 4, 3]);
    const dots = ops.pairwiseDot(b, x);
    expect(dots.type).toEqual({ dtype: 'f32', shape: ['batch', 6] });
    expect(b.op('pairwiseDotGrad', [dots, x], {}).type).toEqual({ dtype: 'f32', shape: ['batch', 4, 3] });
    expect(() => ops.pairwiseDot(b, b.input('flat', 'f32', ['batch', 12]))).toThrow('x must be f32[n,F,D] with static F and D, got f32[batch,12]');
    expect(() => ops.pairwiseDot(b, b.input('one', 'f32', ['batch', 1, 3]))).toThrow('x must have at least 2 rows to pair, got f32[batch,1,3]');
    expect(() => b.op('pairwiseDotGrad', [b.input('dy', 'f32', ['batch', 5]), x], {})).toThrow('gradient must be f32[batch,6] for f32[batch,4,3], got f32[batch,5]');
  });

  it("pairwiseDot's pair order: the upper triangle row by row, and each cell of the symmetric matrix pointing back at its pair", () => {
    expect(upperTrianglePairs(4)).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    expect(pairCount(4)).toBe(6);
    // diagonal cells point past the pairs (at the zero column lowerings append)
    expect(symmetricPairIndex(3)).toEqual([3, 0, 1, 0, 3, 2, 1, 2, 3]);
  });
});
