import { littleEndianBytes } from '@esm2/core';
import { DataType, type TensorProto } from '../proto/types.js';

/** ONNX raw_data is little-endian: core's littleEndianBytes (a view on LE hosts, no copy of big tables). */
export { littleEndianBytes };

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, data_type: DataType.FLOAT, raw_data: littleEndianBytes(data) };
}

export function int64Tensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  return { name, dims, data_type: DataType.INT64, raw_data: littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v))) };
}

export function int32Tensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  return { name, dims, data_type: DataType.INT32, raw_data: littleEndianBytes(Int32Array.from(values)) };
}

export function doubleTensor(name: string, dims: number[], data: Float64Array): TensorProto {
  return { name, dims, data_type: DataType.DOUBLE, raw_data: littleEndianBytes(data) };
}
