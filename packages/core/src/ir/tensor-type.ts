/** Value types of the IR: what every op's type rule reads and returns. */

export type DType = 'f32' | 'i32';

/** A dimension is a fixed size or the symbolic batch dimension. */
export type Dim = number | 'batch';

export interface TensorType {
  dtype: DType;
  shape: Dim[];
}
