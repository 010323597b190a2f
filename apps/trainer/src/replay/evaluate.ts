import type { ScoreCollector } from '@esm2/core';
import type { Encoders } from '@esm2/data';
import { scoreArtifact } from '../train/score-artifact.js';
import type { KnownIds, ReplayMetrics } from './options.js';

/**
 * The vocabulary field a known-id share counts: `asked` (a field name or
 * its source column), else the first of `defaults` that is a field. It
 * must be single-valued and vocabulary-encoded: a hashed field knows every
 * id (and tells none apart), so "known" means nothing there.
 */
export function idField(encoders: Encoders, flag: string, asked: string | undefined, defaults: (string | undefined)[]): { name: string; size: number } {
  const fields = encoders.config.fields;
  const candidates = asked !== undefined ? [asked] : defaults.filter((d): d is string => d !== undefined);
  const field = candidates.map((c) => fields.find((f) => f.name === c) ?? fields.find((f) => f.column === c)).find((f) => f !== undefined);
  const listed = fields.filter((f) => f.kind === 'categorical').map((f) => f.name).join(', ');
  if (field === undefined) throw new Error(`${flag}${asked === undefined ? ` (default ${candidates.join(' or ')})` : ` ${asked}`}: the model has no such field (its categorical fields: ${listed})`);
  if (field.kind !== 'categorical') throw new Error(`${flag} ${field.name}: a ${field.kind} field; the known-id share counts one id per row (categorical fields: ${listed})`);
  const schemaField = encoders.schema.fields.find((f) => f.name === field.name);
  if (schemaField === undefined || schemaField.kind === 'numeric' || schemaField.encoding.kind !== 'vocabulary') {
    throw new Error(`${flag} ${field.name}: hash-encoded, so every id has a row and none is "known"; name a vocabulary field (${listed})`);
  }
  return { name: field.name, size: schemaField.encoding.size };
}

/**
 * A run's artifact scored on the next day's file with `eval`'s code (exact
 * AUCs, logloss, PCOC…), and the share of that day's impressions whose item
 * id, user id, and both, the artifact's encoders know: an id the vocabulary
 * lacks, or whose row was freed by eviction, is encoded as the
 * out-of-vocabulary row 0 — the same lookup that scores it.
 */
export async function evaluateOnDay(
  artifactDir: string,
  dayFile: string,
  options: { itemField?: string | undefined; userField?: string | undefined; backend: string; threads?: number },
): Promise<{ metrics: ReplayMetrics; knownIds: KnownIds; vocabulary: { item: number; user: number }; scores: ScoreCollector }> {
  let counted: { item: string; user: string } | undefined;
  const known = { item: 0, user: 0, both: 0, rows: 0 };
  const scored = await scoreArtifact(artifactDir, dayFile, {
    backend: options.backend,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    onPredictions: (batch) => {
      if (counted === undefined) throw new Error('replay: the id fields were not resolved before scoring');
      const items = batch.features[counted.item] as Int32Array;
      const users = batch.features[counted.user] as Int32Array;
      for (let i = 0; i < batch.size; i++) {
        const item = items[i]! !== 0;
        const user = users[i]! !== 0;
        if (item) known.item++;
        if (user) known.user++;
        if (item && user) known.both++;
      }
      known.rows += batch.size;
    },
    onEncoders: (encoders) => {
      const item = idField(encoders, '--item-field', options.itemField, ['item_id']);
      const user = idField(encoders, '--user-field', options.userField, [encoders.config.userField, 'user_id']);
      counted = { item: item.name, user: user.name };
    },
  });
  const { f1_at: _f1, precision_at: _p, recall_at: _r, ...metrics } = scored.scores.evaluate();
  const item = idField(scored.encoders, '--item-field', counted!.item, []);
  const user = idField(scored.encoders, '--user-field', counted!.user, []);
  return {
    metrics,
    knownIds: { item: known.item / known.rows, user: known.user / known.rows, both: known.both / known.rows, itemField: item.name, userField: user.name },
    vocabulary: { item: item.size, user: user.size },
    scores: scored.scores,
  };
}
