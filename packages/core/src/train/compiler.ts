import type { HostTensor } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';

/**
 * Runs one compiled graph; f32 feeds in, f32/f64 arrays out. Outputs named
 * in `into` are written into those caller-owned buffers (and returned as
 * them), so a training loop can double-buffer its state instead of
 * allocating megabytes per step.
 */
export interface GraphRunner {
  run(feeds: Record<string, HostTensor>, outputs: string[], into?: Record<string, Float32Array>): Promise<Record<string, Float32Array | Float64Array>>;
  release?(): void;
}

/** How a backend turns an IR graph (no params: everything is an input) into a runner. */
export type GraphCompiler = (graph: Graph) => Promise<GraphRunner>;
