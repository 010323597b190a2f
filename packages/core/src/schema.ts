import { z } from 'zod';
import { zodProblems } from './zod-problems.js';

/**
 * The feature schema: what each input column is and how it enters the model.
 * Id encoding (vocabularies, hashing) is done by the data layer; the model
 * sees ids in [0, size) where id 0 is the out-of-vocabulary bucket.
 */

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'field names are letters, digits, _ . - and start with a letter or _');

const categoricalEncoding = z.discriminatedUnion('kind', [
  /** `size` counts every row of the table, the OOV bucket (id 0) included. */
  z.object({ kind: z.literal('vocabulary'), size: z.number().int().min(2) }),
  z.object({ kind: z.literal('hash'), buckets: z.number().int().min(2) }),
]);

export const categoricalFieldSchema = z.object({
  kind: z.literal('categorical'),
  name,
  encoding: categoricalEncoding,
  /** Defaults to the model's embedding dim. */
  embeddingDim: z.number().int().positive().optional(),
});

export const multiCategoricalFieldSchema = z.object({
  kind: z.literal('multiCategorical'),
  name,
  encoding: categoricalEncoding,
  embeddingDim: z.number().int().positive().optional(),
  /** Ids per row after padding (padding id is -1). */
  maxLength: z.number().int().positive(),
  pooling: z.enum(['sum', 'mean']).default('mean'),
});

export const numericFieldSchema = z.object({
  kind: z.literal('numeric'),
  name,
  /** How the data layer normalises it before the model's tanh projection. */
  normalization: z.enum(['zscore', 'minmax', 'none']).default('zscore'),
});

export const fieldSchema = z.discriminatedUnion('kind', [categoricalFieldSchema, multiCategoricalFieldSchema, numericFieldSchema]);

export const featureSchemaSchema = z
  .object({
    fields: z.array(fieldSchema).min(1),
    /** Columns holding the labels in the source data; the graph inputs are always click/daction/buy. */
    labels: z.object({ click: z.string(), daction: z.string(), buy: z.string() }).default({ click: 'click', daction: 'daction', buy: 'buy' }),
    /** Field identifying the user, for GAUC. */
    userField: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const [i, f] of s.fields.entries()) {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `field '${f.name}' is declared twice` });
      if (LABEL_INPUTS.includes(f.name as LabelName)) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `field '${f.name}' clashes with a label input name` });
      }
      seen.add(f.name);
    }
    if (s.userField !== undefined && !seen.has(s.userField)) {
      ctx.addIssue({ code: 'custom', path: ['userField'], message: `userField '${s.userField}' is not a declared field` });
    }
  });

export type CategoricalField = z.infer<typeof categoricalFieldSchema>;
export type MultiCategoricalField = z.infer<typeof multiCategoricalFieldSchema>;
export type NumericField = z.infer<typeof numericFieldSchema>;
export type Field = z.infer<typeof fieldSchema>;
export type FeatureSchema = z.infer<typeof featureSchemaSchema>;
/** A schema as written by hand (defaults not yet applied). */
export type FeatureSchemaInput = z.input<typeof featureSchemaSchema>;

export const LABEL_INPUTS = ['click', 'daction', 'buy'] as const;
export type LabelName = (typeof LABEL_INPUTS)[number];

/** Validates and fills defaults; errors name the offending path. */
export function parseFeatureSchema(input: unknown): FeatureSchema {
  const result = featureSchemaSchema.safeParse(input);
  if (!result.success) {
    throw new Error(`invalid feature schema: ${zodProblems(result.error).join('; ')}`);
  }
  return result.data;
}

/** Rows in a categorical field's embedding table (OOV bucket included). */
export function tableSize(field: CategoricalField | MultiCategoricalField): number {
  return field.encoding.kind === 'vocabulary' ? field.encoding.size : field.encoding.buckets;
}

/**
 * How a categorical field's ids are made at scoring time: vocabulary ids 1..n (0 for unseen and missing; a null
 * value is a row freed by eviction, which no category maps to), or hash buckets.
 */
export type RawIdEncoding = { kind: 'vocabulary'; values: readonly (string | null)[] } | { kind: 'hash'; buckets: number };

/**
 * What a field's encoder does at scoring time, as plain data (made by
 * @esm2/data's `rawFeatureEncodings`), so an exporter can rebuild the same
 * lookup and arithmetic elsewhere (the raw-feature ONNX export puts it into
 * the graph).
 */
export type RawFeatureEncoding =
  | { kind: 'categorical'; name: string; column: string; encoding: RawIdEncoding }
  /** Items split on `separator`, the first `maxLength` kept, the rest padded with id −1. */
  | { kind: 'multiCategorical'; name: string; column: string; encoding: RawIdEncoding; maxLength: number; separator: string }
  /** x ↦ (x − shift) · scale; a missing or non-finite value is refused, not imputed. */
  | { kind: 'numeric'; name: string; column: string; shift: number; scale: number };
