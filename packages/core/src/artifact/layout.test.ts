import { describe, expect, it } from 'vitest';
import type { TensorEntry } from './format.js';
import { alignUp, decodeTensor, layoutProblems, packTensors, swapBytes32 } from './layout.js';

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('packTensors', () => {
  it('places every tensor at an 8-byte-aligned offset with zero padding, little-endian', () => {
    const { entries, bin } = packTensors([
      { name: 'a', group: 'param', dtype: 'f32', shape: [3], data: Float32Array.of(1, 2, 3) },
      { name: 'step', group: 'state', dtype: 'i32', shape: [], data: Int32Array.of(0x01020304) },
      { name: 'empty', group: 'state', dtype: 'f32', shape: [0, 4], data: new Float32Array(0) },
      { name: 'a', group: 'state', dtype: 'f32', shape: [1], data: Float32Array.of(-0) },
    ]);
    expect(entries.map((e) => [e.group, e.name, e.offset, e.byteLength])).toEqual([
      ['param', 'a', 0, 12],
      ['state', 'step', 16, 4],
      ['state', 'empty', 24, 0],
      ['state', 'a', 24, 4],
    ]);
    expect(bin.byteLength).toBe(28);
    expect([...bin.subarray(12, 16)]).toEqual([0, 0, 0, 0]);
    expect([...bin.subarray(16, 20)]).toEqual([4, 3, 2, 1]);
    expect(layoutProblems(entries, bin.byteLength)).toEqual([]);
  });
});

describe('layoutProblems', () => {
  const entry = (over: Partial<TensorEntry>): TensorEntry => ({ name: 'w', group: 'param', dtype: 'f32', shape: [2], offset: 0, byteLength: 8, ...over });

  it('flags sizes that disagree with the shape', () => {
    expect(layoutProblems([entry({ byteLength: 12 })], 16)).toEqual(["param 'w' has shape [2] (8 bytes of f32) but byteLength 12"]);
  });
  it('flags misaligned offsets', () => {
    expect(layoutProblems([entry({ offset: 4 })], 16)).toEqual(["param 'w' has offset 4, not a multiple of 8"]);
  });
  it('flags entries past the end of the file', () => {
    expect(layoutProblems([entry({ offset: 8 })], 12)).toEqual(["param 'w' is out of bounds: bytes [8, 16) but the file has 12"]);
  });
  it('flags overlaps, also with an earlier, longer tensor', () => {
    const long = entry({ name: 'long', shape: [8], byteLength: 32 });
    const mid = entry({ name: 'mid', offset: 8 });
    const late = entry({ name: 'late', offset: 24 });
    expect(layoutProblems([late, mid, long], 32)).toEqual(["param 'long' and param 'mid' overlap at byte 8", "param 'long' and param 'late' overlap at byte 24"]);
  });
  it('flags duplicates within a group, not across groups', () => {
    expect(layoutProblems([entry({}), entry({ group: 'state', offset: 8 })], 16)).toEqual([]);
    expect(layoutProblems([entry({}), entry({ offset: 8 })], 16)).toEqual(["param 'w' is listed twice"]);
  });
});

describe('decodeTensor', () => {
  it('returns an aligned copy with the exact bits, even from an odd offset in a shared buffer', () => {
    const values = new Float32Array(4);
    const bits = new Uint32Array(values.buffer);
    bits.set([0x7fc00001 /* NaN with a payload */, 0x80000000 /* -0 */, 0x00000001 /* smallest subnormal */, 0x7f7fffff]);
    const file = Buffer.alloc(3 + 16);
    file.set(bytesOf(values), 3);
    const out = decodeTensor(file.subarray(3), 'f32');
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer).not.toBe(file.buffer);
    expect(Buffer.compare(bytesOf(out), bytesOf(values))).toBe(0);
  });

  it('decodes i32', () => {
    const out = decodeTensor(Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), 'i32');
    expect(out).toBeInstanceOf(Int32Array);
    expect([...out]).toEqual([1, -1]);
  });
});

describe('helpers', () => {
  it('swapBytes32 reverses each word', () => {
    const b = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    swapBytes32(b);
    expect([...b]).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
  });
  it('alignUp', () => {
    expect([0, 1, 8, 9].map((n) => alignUp(n))).toEqual([0, 8, 8, 16]);
  });
});
