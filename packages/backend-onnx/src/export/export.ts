import type { ModelArtifact } from '@esm2/core';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import type { ModelProto } from '../proto/types.js';
import type { ExternalDataOptions } from './external-data.js';
import { exportMetadata } from './metadata.js';
import { writeOnnxModel, type WrittenModel } from './write-model.js';

export interface OnnxExportOptions {
  /** Outputs to export; default the model's predictions then its towers (ESM2's y1..y4). */
  outputs?: string[];
  /** Stored as `esm2.model_version`; default a content hash of graph and weights. */
  modelVersion?: string;
  /** Where the model came from (e.g. the artifact path), stored as `esm2.source`. */
  source?: string;
  externalData?: ExternalDataOptions;
}

/** The scoring outputs of an artifact: predictions in PREDICTION_NAMES order, then towers. */
export function scoringOutputs(artifact: ModelArtifact): string[] {
  return [...artifact.model.predictions, ...artifact.model.towers];
}

/** An artifact as an ONNX scoring model: labels and losses pruned away, metadata attached. */
export function artifactToModelProto(artifact: ModelArtifact, options: OnnxExportOptions = {}): ModelProto {
  const outputs = options.outputs ?? scoringOutputs(artifact);
  const graph = compileGraph(artifact.graph, artifact.weights, { outputs });
  const metadata = exportMetadata(artifact, outputs, options);
  return modelProto(graph, {
    metadata,
    docString: `ESM2-family '${artifact.model.name}' scoring model; inputs are encoded feature ids/values, see metadata esm2.schema`,
  });
}

/** Compiles and writes an artifact as ONNX (external data when the weights need it). */
export async function exportArtifactToOnnx(artifact: ModelArtifact, path: string, options: OnnxExportOptions = {}): Promise<WrittenModel> {
  return writeOnnxModel(path, artifactToModelProto(artifact, options), options.externalData);
}
