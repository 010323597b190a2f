import { broadcastDims, formatType } from '../../ir/shape.js';
import type { TensorType } from '../../ir/tensor-type.js';
import { f32 } from './record.js';

/** Pieces of type rules shared by several ops. */

export function arity(inputs: TensorType[], n: number): string | undefined {
  return inputs.length === n ? undefined : `expects ${n} input(s), got ${inputs.length}`;
}

export function allF32(inputs: TensorType[]): string | undefined {
  const bad = inputs.findIndex((t) => t.dtype !== 'f32');
  return bad < 0 ? undefined : `input ${bad} must be f32, got ${formatType(inputs[bad]!)}`;
}

/** One f32 operand, result of its type. */
export function unary(inputs: TensorType[]): TensorType | string {
  return arity(inputs, 1) ?? allF32(inputs) ?? f32([...inputs[0]!.shape]);
}

/** Two f32 operands broadcast together. */
export function elementwise(inputs: TensorType[]): TensorType | string {
  const err = arity(inputs, 2) ?? allF32(inputs);
  if (err) return err;
  const [a, b] = inputs as [TensorType, TensorType];
  const shape = broadcastDims(a.shape, b.shape);
  return shape ? f32(shape) : `cannot broadcast ${formatType(a)} with ${formatType(b)}`;
}

export function isScalar(t: TensorType): boolean {
  return t.shape.length === 0;
}
