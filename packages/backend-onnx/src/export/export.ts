import { type ModelArtifact } from '@esm2/core';
import { withStagedOutputs } from '@esm2/core/node';
import type { IdType } from '../lower/builder.js';
import { compileGraph } from '../lower/compile.js';
import { modelProto } from '../lower/model.js';
import type { ModelProto } from '../proto/types.js';
import type { ExternalDataOptions } from './external-data.js';
import { exportMetadata } from './metadata.js';
import { ML_DOMAIN, ML_OPSET_VERSION, withRawFeatureInputs, type RawFieldEncoding } from './raw-features.js';
import { writeOnnxModel, type WrittenModel } from './write-model.js';

export interface OnnxExportOptions {
  /** Outputs to export; default the model's predictions then its towers (ESM2's y1..y4). */
  outputs?: string[];
  /** Stored as `esm2.model_version`; default a content hash of graph and weights. */
  modelVersion?: string;
  /** Where the model came from (e.g. the artifact path), stored as `esm2.source`. */
  source?: string;
  externalData?: ExternalDataOptions;
  /**
   * The fitted encoders' per-field encodings (@esm2/data's rawFeatureEncodings):
   * when given, they run inside the graph and its inputs are raw values (see
   * withRawFeatureInputs); a field standard ONNX cannot encode is refused.
   */
  rawFeatures?: readonly RawFieldEncoding[];
  /**
   * The ONNX type of the id inputs (categorical and multi-valued fields):
   * 'int32' (default) goes to Gather as it is and lets onnxruntime-node take
   * an Int32Array without a copy; 'int64' writes the graph exports wrote
   * before (byte for byte), for clients that send int64 ids (an older Triton
   * client, Python code feeding np.int64). A --raw-features export takes
   * strings, not ids, and is the same either way (its encoders produce
   * int64 ids inside the graph).
   */
  idType?: IdType;
  /**
   * Checks the written model (given its path: the staged file, external
   * data beside it) before it replaces anything at the destination; a throw
   * leaves the destination as it was. See verifyExport.
   */
  verify?: (path: string) => Promise<void>;
}

/** The scoring outputs of an artifact: predictions in PREDICTION_NAMES order, then towers. */
export function scoringOutputs(artifact: ModelArtifact): string[] {
  return [...artifact.model.predictions, ...artifact.model.towers];
}

/** An artifact as an ONNX scoring model: labels and losses pruned away, metadata attached. */
export function artifactToModelProto(artifact: ModelArtifact, options: OnnxExportOptions = {}): ModelProto {
  const outputs = options.outputs ?? scoringOutputs(artifact);
  const twice = outputs.find((o, i) => outputs.indexOf(o) !== i);
  if (twice !== undefined) throw new Error(`outputs name '${twice}' twice`);
  const idType = options.idType ?? 'int32';
  if (idType !== 'int32' && idType !== 'int64') throw new Error(`idType must be 'int32' or 'int64', got ${String(idType)}`);
  // The raw-feature encoders (LabelEncoder) produce int64 ids, which the graph behind them then takes.
  const graph = compileGraph(artifact.graph, artifact.weights, { outputs, idType: options.rawFeatures === undefined ? idType : 'int64' });
  if (options.rawFeatures === undefined) {
    return modelProto(graph, {
      metadata: exportMetadata(artifact, outputs, options),
      docString: `ESM2-family '${artifact.model.name}' scoring model; inputs are encoded feature ids/values, see metadata esm2.schema`,
    });
  }
  const raw = withRawFeatureInputs(graph, options.rawFeatures);
  return modelProto(raw.graph, {
    metadata: exportMetadata(artifact, outputs, { ...options, rawInputs: raw.inputs }),
    docString: `ESM2-family '${artifact.model.name}' scoring model; inputs are raw feature values (categories as strings, lists as [batch, maxLength] strings padded with "", numbers as float), see metadata esm2.raw_features`,
    extraOpsets: [{ domain: ML_DOMAIN, version: ML_OPSET_VERSION }],
  });
}

/**
 * Compiles and writes an artifact as ONNX (external data when the weights
 * need it). The file and its data file are written and verified (`verify`)
 * beside the destination and only then renamed into place, so a failed
 * export leaves an earlier one untouched.
 */
export async function exportArtifactToOnnx(artifact: ModelArtifact, path: string, options: OnnxExportOptions = {}): Promise<WrittenModel> {
  const proto = artifactToModelProto(artifact, options);
  const dataPath = `${path}.data`;
  return withStagedOutputs([dataPath, path], async ([, staged]) => {
    const written = await writeOnnxModel(staged!, proto, options.externalData);
    await options.verify?.(staged!);
    return { path, bytes: written.bytes, ...(written.dataPath !== undefined ? { dataPath } : {}) };
  });
}
