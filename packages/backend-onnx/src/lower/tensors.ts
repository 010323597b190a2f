import { endianness } from 'node:os';
import { DataType, type TensorProto } from '../proto/types.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** ONNX raw_data is little-endian: a view on LE hosts (no copy of big tables), swapped copy otherwise. */
export function littleEndianBytes(data: Float32Array | Float64Array | BigInt64Array): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST) return view;
  const copy = Uint8Array.from(view);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  return copy;
}

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, data_type: DataType.FLOAT, raw_data: littleEndianBytes(data) };
}

export function int64Tensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  return { name, dims, data_type: DataType.INT64, raw_data: littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v))) };
}

export function doubleTensor(name: string, dims: number[], data: Float64Array): TensorProto {
  return { name, dims, data_type: DataType.DOUBLE, raw_data: littleEndianBytes(data) };
}
