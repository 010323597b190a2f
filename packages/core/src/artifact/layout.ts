import { TENSOR_ALIGNMENT, type TensorDType, type TensorEntry, type TensorGroup } from './format.js';
import { HOST_LITTLE_ENDIAN, littleEndianBytes, swapBytes32 } from '../little-endian.js';

export { littleEndianBytes, swapBytes32 };

/** Both dtypes are 4 bytes; the table keeps the layout code honest if another is added. */
export const BYTES_PER_ELEMENT: Record<TensorDType, number> = { f32: 4, i32: 4 };

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function alignUp(n: number, alignment = TENSOR_ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}

/** How messages name a tensor: `param 'y1/l0/w'`, `state 'adam/m/y1/l0/w'`. */
export function describeTensor(t: { group: TensorGroup; name: string }): string {
  return `${t.group} '${t.name}'`;
}

export interface TensorToPack {
  name: string;
  group: TensorGroup;
  dtype: TensorDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Lays tensors out back to back, each at an aligned offset (zero padding between), and fills the bin. */
export function packTensors(tensors: readonly TensorToPack[]): { entries: TensorEntry[]; bin: Buffer } {
  let end = 0;
  const entries = tensors.map((t) => {
    const offset = alignUp(end);
    const byteLength = t.data.length * BYTES_PER_ELEMENT[t.dtype];
    end = offset + byteLength;
    return { name: t.name, group: t.group, dtype: t.dtype, shape: [...t.shape], offset, byteLength };
  });
  const bin = Buffer.alloc(end); // zero-filled, so padding bytes (and hence the checksum) are deterministic
  for (const [i, t] of tensors.entries()) bin.set(littleEndianBytes(t.data), entries[i]!.offset);
  return { entries, bin };
}

/**
 * Problems with a manifest's layout, before any byte is read: sizes that
 * disagree with shapes, misalignment, entries past the end of the file,
 * overlaps, duplicate names.
 */
export function layoutProblems(entries: readonly TensorEntry[], fileByteLength: number): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const what = describeTensor(e);
    const key = `${e.group}\0${e.name}`;
    if (seen.has(key)) problems.push(`${what} is listed twice`);
    seen.add(key);
    const expected = elementCount(e.shape) * BYTES_PER_ELEMENT[e.dtype];
    if (e.byteLength !== expected) {
      problems.push(`${what} has shape [${e.shape.join(',')}] (${expected} bytes of ${e.dtype}) but byteLength ${e.byteLength}`);
    }
    if (e.offset % TENSOR_ALIGNMENT !== 0) problems.push(`${what} has offset ${e.offset}, not a multiple of ${TENSOR_ALIGNMENT}`);
    if (e.offset + e.byteLength > fileByteLength) {
      problems.push(`${what} is out of bounds: bytes [${e.offset}, ${e.offset + e.byteLength}) but the file has ${fileByteLength}`);
    }
  }
  // Sweep by offset, comparing each tensor with the one reaching furthest so far. Empty tensors occupy nothing.
  const spans = entries.filter((e) => e.byteLength > 0).sort((a, b) => a.offset - b.offset);
  let furthest: TensorEntry | undefined;
  for (const e of spans) {
    if (furthest && furthest.offset + furthest.byteLength > e.offset) {
      problems.push(`${describeTensor(furthest)} and ${describeTensor(e)} overlap at byte ${e.offset}`);
    }
    if (!furthest || e.offset + e.byteLength > furthest.offset + furthest.byteLength) furthest = e;
  }
  return problems;
}

/**
 * A tensor from file bytes, always a fresh copy on its own ArrayBuffer: the
 * bytes' offset inside a Node Buffer need not be 4-aligned, and callers may
 * keep or mutate the array without pinning or aliasing the whole file.
 * Bytes are copied, never values, so NaN payloads and -0 survive bit-exact.
 */
export function decodeTensor(bytes: Uint8Array, dtype: 'f32'): Float32Array;
export function decodeTensor(bytes: Uint8Array, dtype: TensorDType): Float32Array | Int32Array;
export function decodeTensor(bytes: Uint8Array, dtype: TensorDType): Float32Array | Int32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (!HOST_LITTLE_ENDIAN) swapBytes32(copy);
  return dtype === 'f32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
}
