import { z } from 'zod';
import { MODEL_NAMES } from '../zoo/config.js';
import { PREDICTION_NAMES } from '../zoo/model.js';
import { graphJsonSchema } from './graph-json.js';

/**
 * The on-disk format: a directory holding `model.json` (everything but the
 * numbers) and `weights.bin` (all tensors, little-endian, each at an
 * 8-byte-aligned offset, described by the manifest in model.json, with the
 * file's sha256). Version 2 adds `sha256` to model.json itself (see
 * modelJsonChecksum in checksum.ts), so a damaged encoder or vocabulary is refused like
 * damaged weights; version 1 files, written before that, are read without it.
 */
export const ARTIFACT_FORMAT = 'esm2-artifact';
export const ARTIFACT_FORMAT_VERSION = 2;
/** Versions this code reads; a newer writer must bump the version rather than change an older one's meaning. */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1, 2];
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** 8 so any reader can map f32/i32 (and a future f64) straight from the file. */
export const TENSOR_ALIGNMENT = 8;

/** `param`: a graph parameter; `state`: an extra tensor. Names are unique per group, so the two never clash. */
export const TENSOR_GROUPS = ['param', 'state'] as const;
export type TensorGroup = (typeof TENSOR_GROUPS)[number];
export type TensorDType = 'f32' | 'i32';

export const tensorEntrySchema = z.object({
  name: z.string().min(1),
  group: z.enum(TENSOR_GROUPS),
  dtype: z.enum(['f32', 'i32']),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  byteLength: z.number().int().nonnegative(),
});
export type TensorEntry = z.infer<typeof tensorEntrySchema>;

export const weightsManifestSchema = z.object({
  // A fixed name: a free path here would let a crafted model.json read any file.
  file: z.literal(WEIGHTS_FILE),
  byteLength: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  tensors: z.array(tensorEntrySchema),
});
export type WeightsManifest = z.infer<typeof weightsManifestSchema>;

/** Checked before the full schema so a newer or foreign file gets a precise error, not a list of field issues. */
export const headerSchema = z.object({ format: z.unknown(), formatVersion: z.unknown() });

export const modelJsonSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  formatVersion: z.union([z.literal(1), z.literal(ARTIFACT_FORMAT_VERSION)]),
  /** Version 2: modelJsonChecksum of the document (absent in version 1). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional(),
  model: z.object({
    name: z.enum(MODEL_NAMES),
    // Parsed by parseModelConfig / parseFeatureSchema, whose messages are the familiar ones.
    config: z.unknown(),
    predictions: z.array(z.enum(PREDICTION_NAMES)),
    towers: z.array(z.string()),
    losses: z.array(z.string()),
  }),
  graph: graphJsonSchema,
  schema: z.unknown(),
  encoders: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  weights: weightsManifestSchema,
});
export type ModelJson = z.infer<typeof modelJsonSchema>;

export { zodProblems } from '../zod-problems.js';
