import { describe, expect, it } from 'vitest';
import { GraphBuilder, ops } from './builder.js';
import { initWeights, paramTensors } from './init.js';

function graph() {
  const b = new GraphBuilder('two-params');
  const x = b.input('x', 'f32', ['batch', 3]);
  const w = b.param('w', [3, 2], { kind: 'glorotUniform' });
  const bias = b.param('b', [2], { kind: 'zeros' });
  b.output('y', ops.add(b, ops.matmul(b, x, w), bias));
  return b.build();
}

describe('paramTensors', () => {
  it('gives every parameter its declared shape and its values, by name', () => {
    const g = graph();
    const weights = initWeights(g, 1);
    const tensors = paramTensors(g, weights);
    expect(Object.keys(tensors).sort()).toEqual(['b', 'w']);
    expect(tensors.w!.shape).toEqual([3, 2]);
    expect(tensors.w!.data).toBe(weights.get('w'));
    expect(tensors.b).toEqual({ shape: [2], data: new Float32Array(2) });
  });

  it('names a parameter without a value or with the wrong number of values', () => {
    const g = graph();
    const weights = initWeights(g, 1);
    weights.delete('b');
    expect(() => paramTensors(g, weights)).toThrow("param 'b' has no value");
    weights.set('b', new Float32Array(3));
    expect(() => paramTensors(g, weights)).toThrow("param 'b' has 3 values for shape [2]");
  });
});
