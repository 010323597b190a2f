import { describe, expect, it } from 'vitest';
import { HOST_LITTLE_ENDIAN, littleEndianBytes, requireLittleEndianHost, type RawTypedArray } from './little-endian.js';

/** The same values written one by one through DataView in little-endian order: the independent reference. */
function viaDataView(data: RawTypedArray): Uint8Array {
  const out = new DataView(new ArrayBuffer(data.byteLength));
  data.forEach((v: number | bigint, i: number) => {
    const at = i * data.BYTES_PER_ELEMENT;
    if (data instanceof Float32Array) out.setFloat32(at, v as number, true);
    else if (data instanceof Int32Array) out.setInt32(at, v as number, true);
    else if (data instanceof Float64Array) out.setFloat64(at, v as number, true);
    else out.setBigInt64(at, v as bigint, true);
  });
  return new Uint8Array(out.buffer);
}

describe('little-endian bytes', () => {
  it('match DataView little-endian writes for every raw dtype, on a subarray too', () => {
    const arrays: RawTypedArray[] = [
      Float32Array.from([1.5, -0, Number.NaN, 3.4e38, -1e-40]),
      Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31), 12345]),
      Float64Array.from([Math.PI, -2.5e-300, Number.POSITIVE_INFINITY]),
      BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n)]),
    ];
    for (const a of arrays) {
      expect([...littleEndianBytes(a)]).toEqual([...viaDataView(a)]);
      const sub = a.subarray(1, 3);
      expect([...littleEndianBytes(sub)]).toEqual([...viaDataView(sub)]);
    }
  });

  it('knows this host is little-endian (as node:os says) and lets the raw exchanges run', async () => {
    const { endianness } = await import('node:os');
    expect(HOST_LITTLE_ENDIAN).toBe(endianness() === 'LE');
    expect(() => requireLittleEndianHost('raw files are little-endian')).not.toThrow();
  });
});
