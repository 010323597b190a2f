/** A concrete host-side tensor: row-major data with its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

/** Parameter values by name; shapes come from the graph's param declarations. */
export type Weights = Map<string, Float32Array>;
