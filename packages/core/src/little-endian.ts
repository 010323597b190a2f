/**
 * Raw tensor files and buffers the project exchanges (artifact weights.bin,
 * ONNX raw_data, encoded shards, the torch and XGBoost exchanges) are
 * little-endian whatever the host. One place for the host's byte order and
 * the byte views of typed arrays.
 */

/** Read from a typed array rather than node:os, so core stays free of Node imports. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each 4-byte word in place (a little-endian file read on a big-endian host, or the reverse). */
export function swapBytes32(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i]!;
    const b = bytes[i + 1]!;
    bytes[i] = bytes[i + 3]!;
    bytes[i + 1] = bytes[i + 2]!;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

/** A typed array whose bytes can be written raw. */
export type RawTypedArray = Float32Array | Int32Array | Float64Array | BigInt64Array;

/** The array's bytes in little-endian order: a view on little-endian hosts (no copy of big tables), a swapped copy otherwise. */
export function littleEndianBytes(data: RawTypedArray): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = Uint8Array.from(view);
  const width = data.BYTES_PER_ELEMENT;
  if (width === 4) swapBytes32(copy);
  else for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  return copy;
}

/**
 * Refuses a big-endian host where raw little-endian files are read as typed
 * arrays in place: `exchange` says what (e.g. `encoded shards are
 * little-endian int32/float32 files`); `make` builds the error (default Error).
 */
export function requireLittleEndianHost(exchange: string, make: (message: string) => Error = (m) => new Error(m)): void {
  if (!HOST_LITTLE_ENDIAN) throw make(`${exchange}; this machine is big-endian`);
}
