import { DataLocation, type ModelProto, type TensorProto } from '../proto/types.js';

/** A protobuf message cannot exceed 2 GiB − 1 bytes (its sizes are signed 32-bit). */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Room left for the graph, metadata and framing when deciding from weight bytes alone. */
const HEADROOM = 64 * 2 ** 20;
/** Offsets in the data file are page-aligned so runtimes can memory-map each tensor. */
export const EXTERNAL_ALIGNMENT = 4096;

export interface ExternalDataOptions {
  /** Move weights out when their total bytes exceed this; default: whatever keeps the .onnx under the protobuf limit. */
  threshold?: number;
  /** Tensors smaller than this stay inline (shape constants, biases). */
  minTensorBytes?: number;
}

export interface ExternalChunk {
  offset: number;
  data: Uint8Array;
}

export function weightBytes(model: ModelProto): number {
  return model.graph.initializer.reduce((n, t) => n + (t.raw_data?.byteLength ?? 0), 0);
}

function metadataBytes(model: ModelProto): number {
  return (model.metadata_props ?? []).reduce((n, p) => n + Buffer.byteLength(p.key) + Buffer.byteLength(p.value), 0);
}

export function needsExternalData(model: ModelProto, options: ExternalDataOptions = {}): boolean {
  const threshold = options.threshold ?? PROTOBUF_LIMIT - HEADROOM - metadataBytes(model);
  return weightBytes(model) > threshold;
}

/**
 * The model with its large initializers pointing into a side file
 * (`location`, relative to the .onnx, as the ONNX external-data spec has
 * it), plus the chunks to write there. The input model is not modified.
 */
export function externalize(model: ModelProto, location: string, minTensorBytes = 1024): { model: ModelProto; chunks: ExternalChunk[] } {
  const chunks: ExternalChunk[] = [];
  let end = 0;
  const initializer = model.graph.initializer.map((t): TensorProto => {
    const data = t.raw_data;
    if (!data || data.byteLength < minTensorBytes) return t;
    const offset = Math.ceil(end / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
    end = offset + data.byteLength;
    chunks.push({ offset, data });
    const moved: TensorProto = { ...t, data_location: DataLocation.EXTERNAL };
    delete moved.raw_data;
    moved.external_data = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.byteLength) },
    ];
    return moved;
  });
  return { model: { ...model, graph: { ...model.graph, initializer } }, chunks };
}
