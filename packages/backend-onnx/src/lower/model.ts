import type { GraphProto, ModelProto, OperatorSetIdProto } from '../proto/types.js';

/**
 * One pinned opset and the IR version that goes with it (ONNX 1.12):
 * 17 is the newest Debian's python3-onnx checker knows, and it already has
 * ScatterND's reduction='add' (16) that table gradients need.
 */
export const OPSET_VERSION = 17;
export const IR_VERSION = 8;
export const PRODUCER_NAME = '@esm2/backend-onnx';
export const PRODUCER_VERSION = '0.1.0';

export interface ModelProtoOptions {
  metadata?: Record<string, string>;
  docString?: string;
  /** ModelProto.model_version, an integer; the string version lives in metadata. */
  modelVersion?: number;
  /** Operator sets beyond the default domain's (e.g. ai.onnx.ml for LabelEncoder). */
  extraOpsets?: OperatorSetIdProto[];
}

export function modelProto(graph: GraphProto, options: ModelProtoOptions = {}): ModelProto {
  const model: ModelProto = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET_VERSION }, ...(options.extraOpsets ?? [])],
    producer_name: PRODUCER_NAME,
    producer_version: PRODUCER_VERSION,
    graph,
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  if (options.docString !== undefined) model.doc_string = options.docString;
  if (options.modelVersion !== undefined) model.model_version = options.modelVersion;
  return model;
}
