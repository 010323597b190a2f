import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { zodProblems } from '@esm2/core';
import { readInputFile } from '@esm2/core/node';

/**
 * The data config: how a file's columns become labels and features. Written
 * by hand (JSON or YAML) or inferred; either way the resolved form is saved
 * inside the encoders so scoring reads columns exactly as training did.
 */

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'field names are letters, digits, _ . - and start with a letter or _');

const encoding = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('vocabulary'),
    /** Values seen fewer times than this share the OOV id 0. */
    minCount: z.number().int().min(1).default(1),
    /** Keep at most this many most frequent values. */
    maxSize: z.number().int().min(1).optional(),
  }),
  z.strictObject({ kind: z.literal('hash'), buckets: z.number().int().min(2) }),
]);

const common = { name, column: z.string().optional(), embeddingDim: z.number().int().positive().optional() };

export const fieldConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('categorical'), ...common, encoding: encoding.default({ kind: 'vocabulary', minCount: 1 }) }),
  z.strictObject({
    kind: z.literal('multiCategorical'),
    ...common,
    encoding: encoding.default({ kind: 'vocabulary', minCount: 1 }),
    /** Separator inside a text cell; Parquet LIST cells need none. */
    separator: z.string().min(1).default('|'),
    /** Upper bound; the fitted length is the longest list seen, up to this. Longer lists keep their first values. */
    maxLength: z.number().int().positive().default(32),
    pooling: z.enum(['sum', 'mean']).default('mean'),
  }),
  z.strictObject({ kind: z.literal('numeric'), ...common, normalization: z.enum(['zscore', 'minmax', 'none']).default('zscore') }),
]);

const columnList = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));

export const dataConfigSchema = z.strictObject({
  csv: z
    .strictObject({ delimiter: z.string().length(1).optional(), header: z.boolean().optional(), columns: z.array(z.string()).optional() })
    .default({}),
  labels: z
    .strictObject({
      click: z.string().optional(),
      /** One column, or several OR-ed together (cart, fav, wish); null when the data has none. */
      daction: columnList.nullable().optional(),
      buy: z.string().optional(),
    })
    .default({}),
  /** Explicit fields; when absent every other column is inferred (see infer.ts). */
  fields: z.array(fieldConfigSchema).optional(),
  numeric: z.array(z.string()).default([]),
  multi: z.array(z.string()).default([]),
  /** Columns read as categories whatever their values look like (numbers with a few stray values are otherwise refused). */
  categorical: z.array(z.string()).default([]),
  exclude: z.array(z.string()).default([]),
  /** Columns to hash instead of building a vocabulary, with their bucket counts. */
  hash: z.record(z.string(), z.number().int().min(2)).default({}),
  minCount: z.number().int().min(1).default(1),
  maxLength: z.number().int().positive().default(32),
  /** Columns carried into batches as row keys (for writing scores next to ids). */
  keys: z.array(z.string()).default([]),
  userField: z.string().optional(),
});

export type DataConfigInput = z.input<typeof dataConfigSchema>;
export type DataConfig = z.output<typeof dataConfigSchema>;
export type FieldConfig = z.output<typeof fieldConfigSchema>;

export function parseDataConfig(input: unknown, source = 'data config'): DataConfig {
  const r = dataConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new Error(`${source}: ${zodProblems(r.error).join('; ')}`);
  }
  return r.data;
}

/** Reads a JSON or YAML config (YAML is a superset of JSON, so one parser serves both). */
export async function loadDataConfig(file: string): Promise<DataConfig> {
  const text = await readInputFile(file);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON/YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseDataConfig(doc, file);
}
