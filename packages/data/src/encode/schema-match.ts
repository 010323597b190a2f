import { tableSize, type FeatureSchema, type Field } from '@esm2/core';
import { Encoders } from './encoders.js';

/**
 * The encoders saved with an artifact, checked against the artifact's
 * feature schema before anything is scored or exported with them: the
 * schema sized the embedding tables, so every field must encode into
 * exactly those rows (a vocabulary of N values fills N + 1 rows, the OOV row
 * 0 included). An edited or mismatched encoders section (emptied
 * vocabularies, other hash buckets, a missing field) would otherwise map
 * every value to the wrong or the OOV row silently. `source` names where
 * the encoders came from, e.g. `runs/x/best/model.json`.
 */
export function encodersForSchema(json: unknown, schema: FeatureSchema, source: string): Encoders {
  const encoders = Encoders.fromJSON(json, source);
  const problems = schemaMismatches(encoders, schema);
  if (problems.length > 0) throw new Error(`${source}: the encoders do not match the model's feature schema: ${problems.join('; ')}`);
  return encoders;
}

function describeRows(f: Field, encoders: Encoders): string {
  if (f.kind === 'numeric') return 'numeric';
  if (f.encoding.kind === 'hash') return `hash into ${f.encoding.buckets} buckets`;
  const entries = encoders.state.vocabularies[f.name] ?? [];
  const freed = entries.filter((v) => v === null).length;
  return `a vocabulary of ${entries.length - freed} value(s)${freed > 0 ? ` and ${freed} freed row(s)` : ''}, ${f.encoding.size} rows with OOV`;
}

function schemaMismatches(encoders: Encoders, schema: FeatureSchema): string[] {
  const problems: string[] = [];
  const derived = new Map(encoders.schema.fields.map((f) => [f.name, f]));
  for (const want of schema.fields) {
    const got = derived.get(want.name);
    derived.delete(want.name);
    const at = `field '${want.name}'`;
    if (!got) {
      problems.push(`${at}: the encoders have no such field`);
      continue;
    }
    if (got.kind !== want.kind) {
      problems.push(`${at}: the encoders read it as ${got.kind}, the schema as ${want.kind}`);
      continue;
    }
    if (got.kind === 'numeric' || want.kind === 'numeric') continue;
    if (got.encoding.kind !== want.encoding.kind || tableSize(got) !== tableSize(want)) {
      const where = got.encoding.kind === 'vocabulary' ? ` (encoders.vocabularies.${want.name})` : '';
      problems.push(`${at}: the encoders give ${describeRows(got, encoders)}${where} but its embedding table has ${tableSize(want)} rows (${want.encoding.kind})`);
    }
    if (got.kind === 'multiCategorical' && want.kind === 'multiCategorical' && got.maxLength !== want.maxLength) {
      problems.push(`${at}: the encoders keep ${got.maxLength} values per row but the model takes ${want.maxLength}`);
    }
  }
  for (const extra of derived.keys()) problems.push(`field '${extra}': encoded but not in the schema`);
  const labels = encoders.schema.labels;
  for (const k of ['click', 'daction', 'buy'] as const) {
    if (labels[k] !== schema.labels[k]) problems.push(`label ${k}: the encoders read column '${labels[k]}', the schema says '${schema.labels[k]}'`);
  }
  return problems;
}
