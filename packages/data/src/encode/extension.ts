import { Encoders } from './encoders.js';

/** One vocabulary field's table after an extension: its rows, and those (1-based ids) whose entry is new, reused or freed. */
export interface RowChanges {
  rows: number;
  fresh: Int32Array;
}

function read(json: unknown, which: 'before' | 'after'): Encoders {
  return json instanceof Encoders ? json : Encoders.fromJSON(json, which);
}

/**
 * Which embedding rows an extension (extendEncoders) changed, per
 * vocabulary field of `after`: a row is fresh when its entry differs from
 * the one `before` had there (a new id, a freed row reused, a row freed) or
 * `before`'s table had no such row. Rows not listed hold the same id as
 * before, so a model's weights for them carry over. Takes encoders JSON (or
 * Encoders); invalid JSON is refused naming `before`/`after` and the key.
 */
export function vocabularyRowChanges(before: unknown, after: unknown): Map<string, RowChanges> {
  const was = read(before, 'before');
  const now = read(after, 'after');
  const wasRows = new Map(was.schema.fields.map((f) => [f.name, f.kind !== 'numeric' && f.encoding.kind === 'vocabulary' ? f.encoding.size : 0]));
  const changes = new Map<string, RowChanges>();
  for (const f of now.schema.fields) {
    if (f.kind === 'numeric' || f.encoding.kind !== 'vocabulary') continue;
    const old = was.state.vocabularies[f.name] ?? [];
    const entries = now.state.vocabularies[f.name]!;
    const oldRows = wasRows.get(f.name) ?? 0;
    const rows = f.encoding.size;
    const fresh: number[] = [];
    for (let row = 1; row < rows; row++) {
      if (row >= oldRows || (old[row - 1] ?? null) !== (entries[row - 1] ?? null)) fresh.push(row);
    }
    changes.set(f.name, { rows, fresh: Int32Array.from(fresh) });
  }
  return changes;
}

const LISTED_PER_FIELD = 5;

const show = (x: unknown) => JSON.stringify(x);

/**
 * Why `after` is not a valid extension of `before` (empty when it is):
 * the same config (fields, kinds, encodings, columns, labels), numeric
 * statistics and list lengths, and every id `before` holds still at its
 * index or evicted (its row freed, or reused by an id `before` did not
 * have; only encoders with limits evict). Each problem names the key (`numeric.price.mean: …`,
 * `vocabularies.item_id.4: …`). Takes encoders JSON (or Encoders).
 */
export function encodersExtensionProblems(before: unknown, after: unknown): string[] {
  let was: Encoders;
  let now: Encoders;
  try {
    was = read(before, 'before');
    now = read(after, 'after');
  } catch (e) {
    return [(e as Error).message];
  }
  const problems: string[] = [];
  const [d0, d1] = [was.state.day, now.state.day];
  const differ = (key: string, a: unknown, b: unknown) => {
    if (show(a) !== show(b)) problems.push(`${key}: was ${show(a) ?? 'absent'}, now ${show(b) ?? 'absent'}`);
  };
  const { fields: wasFields, ...wasRest } = was.config;
  const { fields: nowFields, ...nowRest } = now.config;
  for (const key of new Set([...Object.keys(wasRest), ...Object.keys(nowRest)])) {
    differ(`config.${key}`, (wasRest as Record<string, unknown>)[key], (nowRest as Record<string, unknown>)[key]);
  }
  differ('config.fields (names)', wasFields.map((f) => f.name), nowFields.map((f) => f.name));
  const nowByName = new Map(nowFields.map((f) => [f.name, f as Record<string, unknown>]));
  for (const f of wasFields) {
    const g = nowByName.get(f.name);
    if (!g) continue;
    const a = f as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(g)])) differ(`config.fields.${f.name}.${key}`, a[key], g[key]);
  }
  for (const [field, stats] of Object.entries(was.state.numeric)) {
    const next = now.state.numeric[field] as Record<string, unknown> | undefined;
    if (!next) problems.push(`numeric.${field}: missing`);
    else for (const [stat, x] of Object.entries(stats)) differ(`numeric.${field}.${stat}`, x, next[stat]);
  }
  for (const [field, n] of Object.entries(was.state.maxLength)) differ(`maxLength.${field}`, n, now.state.maxLength[field]);
  for (const [field, old] of Object.entries(was.state.vocabularies)) {
    const entries = now.state.vocabularies[field];
    if (!entries) {
      problems.push(`vocabularies.${field}: missing`);
      continue;
    }
    const at = new Map<string, number>();
    for (const [i, w] of entries.entries()) if (w !== null) at.set(w, i);
    const evicts = now.state.limits !== undefined;
    const seen = now.state.lastSeen?.[field];
    const moved: string[] = [];
    for (const [i, v] of old.entries()) {
      if (v === null) continue;
      const w = entries[i];
      const key = `vocabularies.${field}.${i}`;
      const j = at.get(v);
      if (w === v) continue;
      if (j !== undefined) moved.push(`${key}: ${show(v)} moved to entry ${j}; an id keeps its row`);
      else if (w === undefined) moved.push(`${key}: ${show(v)} is gone with its row (${entries.length} entries, were ${old.length}); a freed row stays, as null`);
      else if (!evicts) moved.push(`${key}: ${show(v)} is gone (row now ${show(w)}), but the encoders have no limits that evict`);
      else if (w !== null && d0 !== undefined && seen !== undefined && seen[i]! < d0) {
        moved.push(`${key}: ${show(v)} is gone and its row holds ${show(w)}, last seen on day ${seen[i]}, before the base's day ${d0}`);
      }
    }
    problems.push(...moved.slice(0, LISTED_PER_FIELD));
    if (moved.length > LISTED_PER_FIELD) problems.push(`vocabularies.${field}: ${moved.length - LISTED_PER_FIELD} more entries moved`);
  }
  if (d0 !== undefined && (d1 === undefined || d1 < d0)) problems.push(`day: was ${d0}, now ${d1 ?? 'absent'}; an extension is on the same or a later day`);
  return problems;
}
