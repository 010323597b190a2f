import { describe, expect, it } from 'vitest';
import { ensureCapacity } from './growable.js';

describe('ensureCapacity', () => {
  it('returns the same array when it fits, else a doubled copy keeping the used prefix', () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    expect(ensureCapacity(a, 4, 4)).toBe(a);
    const b = ensureCapacity(Float64Array.from([1.5, 2.5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]), 2, 17);
    expect(b).toBeInstanceOf(Float64Array);
    expect(b.length).toBe(32);
    expect([...b.subarray(0, 3)]).toEqual([1.5, 2.5, 0]);
    expect(ensureCapacity(new Uint32Array(0), 0, 100).length).toBe(128);
  });
});
