import { createHash } from 'node:crypto';
import {
  PREDICTION_NAMES,
  parseFeatureSchema,
  parseModelConfig,
  type ArtifactModelInfo,
  type FeatureSchema,
  type ModelArtifact,
  type PredictionName,
} from '@esm2/core';
import type { StringStringEntryProto } from '../proto/types.js';
import type { RawInputInfo } from './raw-features.js';

/**
 * What an exported model says about itself in metadata_props, so a scorer
 * given only the .onnx file encodes rows exactly as training did. Values are
 * JSON strings under `esm2.*` keys; other runtimes ignore them.
 */
export const METADATA_KEYS = {
  format: 'esm2.format',
  model: 'esm2.model',
  schema: 'esm2.schema',
  /** The data layer's encoders JSON (vocabularies, normalisation stats), inline: the file is self-contained. */
  encoders: 'esm2.encoders',
  /** sha256 of the encoders JSON text: a reference a service can compare with the artifact it came from. */
  encodersSha256: 'esm2.encoders_sha256',
  modelVersion: 'esm2.model_version',
  outputs: 'esm2.outputs',
  source: 'esm2.source',
  artifactMetadata: 'esm2.artifact_metadata',
  /**
   * Present only on a model exported with --raw-features: its inputs are raw
   * values (JSON list of RawInputInfo), the encoders run inside the graph.
   * Absent: the inputs are encoded ids, as in every earlier export; readers
   * that do not know the key still read the file's other metadata.
   */
  rawFeatures: 'esm2.raw_features',
  /** sha256 of the rest of the file and its external data, appended when the file is written (see checksum.ts). */
  contentSha256: 'esm2.content_sha256',
} as const;

/** Format 2 files always carry `esm2.content_sha256`; format 1 (before checksums) never did and is still read. */
export const EXPORT_FORMAT = 'esm2-onnx/2';
export const LEGACY_EXPORT_FORMAT = 'esm2-onnx/1';
const READABLE_FORMATS: readonly string[] = [EXPORT_FORMAT, LEGACY_EXPORT_FORMAT];

export interface OnnxModelInfo {
  /** EXPORT_FORMAT, or LEGACY_EXPORT_FORMAT for a file exported before content checksums. */
  format: string;
  model: ArtifactModelInfo;
  schema: FeatureSchema;
  encoders: unknown;
  encodersSha256: string;
  modelVersion: string;
  /** Output names of the ONNX graph, predictions first. */
  outputs: string[];
  /** Predictions among the outputs, in PREDICTION_NAMES order. */
  predictions: PredictionName[];
  source?: string;
  artifactMetadata: Record<string, unknown>;
  /** The raw inputs of a model exported with --raw-features; absent when the inputs are encoded ids. */
  rawFeatures?: RawInputInfo[];
}

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

/**
 * A content version: equal graphs and weights give equal versions, so a
 * re-export of the same artifact is recognisably the same model.
 */
export function contentVersion(artifact: ModelArtifact): string {
  const hash = createHash('sha256').update(JSON.stringify(artifact.graph));
  for (const p of artifact.graph.params) {
    const w = artifact.weights.get(p.name);
    if (w) hash.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  }
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

/** A path as the export carries it: its base name, so a model handed on does not disclose where it was trained. */
const baseName = (path: string) => path.split(/[\\/]/).filter((p) => p !== '').at(-1) ?? path;
const isAbsolutePath = (s: string) => s.startsWith('/') || s.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(s);

/**
 * Metadata with local file paths cut to base names: every absolute path,
 * and the training and validation files fit records (`settings.train`,
 * `settings.valid`) even when relative. Nothing reads these back as paths;
 * they say which files, not where.
 */
export function withoutLocalPaths(value: unknown, key?: string, parentKey?: string): unknown {
  if (typeof value === 'string') return isAbsolutePath(value) || (parentKey === 'settings' && (key === 'train' || key === 'valid')) ? baseName(value) : value;
  if (Array.isArray(value)) return value.map((v) => withoutLocalPaths(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutLocalPaths(v, k, key)]));
  }
  return value;
}

export function exportMetadata(
  artifact: ModelArtifact,
  outputs: string[],
  options: { modelVersion?: string; source?: string; rawInputs?: RawInputInfo[] } = {},
): Record<string, string> {
  const encoders = JSON.stringify(artifact.encoders ?? null);
  const meta: Record<string, string> = {
    [METADATA_KEYS.format]: EXPORT_FORMAT,
    [METADATA_KEYS.model]: JSON.stringify(artifact.model),
    [METADATA_KEYS.schema]: JSON.stringify(artifact.schema),
    [METADATA_KEYS.encoders]: encoders,
    [METADATA_KEYS.encodersSha256]: sha256(encoders),
    [METADATA_KEYS.modelVersion]: options.modelVersion ?? contentVersion(artifact),
    [METADATA_KEYS.outputs]: JSON.stringify(outputs),
    [METADATA_KEYS.artifactMetadata]: JSON.stringify(withoutLocalPaths(artifact.metadata)),
  };
  if (options.source !== undefined) meta[METADATA_KEYS.source] = withoutLocalPaths(options.source) as string;
  if (options.rawInputs !== undefined) meta[METADATA_KEYS.rawFeatures] = JSON.stringify(options.rawInputs);
  return meta;
}

/** Reads back what exportMetadata wrote; errors say which key is missing or malformed. */
export function parseExportMetadata(props: readonly StringStringEntryProto[], where = 'ONNX model'): OnnxModelInfo {
  const map = new Map(props.map((p) => [p.key, p.value]));
  const get = (key: string): string => {
    const v = map.get(key);
    if (v === undefined) throw new Error(`${where}: metadata_props has no '${key}': not exported by esm2-train export`);
    return v;
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(get(key));
    } catch (e) {
      if (e instanceof SyntaxError) throw new Error(`${where}: metadata '${key}' is not valid JSON: ${e.message}`);
      throw e;
    }
  };
  const format = get(METADATA_KEYS.format);
  if (!READABLE_FORMATS.includes(format)) {
    throw new Error(`${where}: metadata format '${format}' is not supported (expected '${EXPORT_FORMAT}' or '${LEGACY_EXPORT_FORMAT}')`);
  }
  const model = json(METADATA_KEYS.model) as ArtifactModelInfo;
  model.config = parseModelConfig(model.config);
  const outputs = json(METADATA_KEYS.outputs) as string[];
  const info: OnnxModelInfo = {
    format,
    model,
    schema: parseFeatureSchema(json(METADATA_KEYS.schema)),
    encoders: json(METADATA_KEYS.encoders),
    encodersSha256: get(METADATA_KEYS.encodersSha256),
    modelVersion: get(METADATA_KEYS.modelVersion),
    outputs,
    predictions: PREDICTION_NAMES.filter((p) => outputs.includes(p)),
    artifactMetadata: json(METADATA_KEYS.artifactMetadata) as Record<string, unknown>,
  };
  const source = map.get(METADATA_KEYS.source);
  if (source !== undefined) info.source = source;
  if (map.has(METADATA_KEYS.rawFeatures)) info.rawFeatures = json(METADATA_KEYS.rawFeatures) as RawInputInfo[];
  if (sha256(get(METADATA_KEYS.encoders)) !== info.encodersSha256) throw new Error(`${where}: encoders do not match their sha256`);
  return info;
}
