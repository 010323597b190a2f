import { requireColumns } from '../dataset/encoded-stream.js';
import { openTable } from '../read/table.js';
import { tableSize } from '@esm2/core';
import { Encoders } from './encoders.js';
import { countTable, encoderLimits, type CountOptions } from './fit.js';
import { compareKeys } from './vocabulary.js';

export interface ExtendOptions extends CountOptions {
  /** The day of the data in the file; not before the encoders' own `day`. */
  day: number;
  /** Ids per vocabulary field (a number for every one), the OOV row not counted; kept in the encoders' limits. */
  maxIds?: number | Record<string, number>;
  /** Evict ids unseen for this many days; kept in the encoders' limits. */
  evictAfterDays?: number;
}

/** What extending did to one vocabulary field. */
export interface FieldGrowth {
  /** Table rows after, the OOV row and freed rows included. */
  size: number;
  /** Ids the encoders knew that the file holds (they keep their rows; their last-seen day becomes `day`). */
  known: number;
  /** New ids given a row, `reused` of them in freed rows. */
  added: number;
  reused: number;
  /** Ids whose rows were freed (they now encode as OOV). */
  evicted: number;
  /** The first 20 evicted ids, least recently seen first (ties by key). */
  evictedIds: string[];
}

export type VocabularyGrowth = Record<string, FieldGrowth>;

const EVICTED_LISTED = 20;

/**
 * Encoders grown on a new day's file, for training on from a model fitted
 * with `base` (warm start). The file is read with base's config, bad rows
 * handled as fitting would. Every id `base` knows keeps its index; ids in
 * the file get last-seen `day`; new ids (as many times as the field's
 * minCount; by count, ties by key) take freed rows first, lowest first,
 * then are appended. Eviction, deterministic: every id unseen for
 * `evictAfterDays` days is freed; then, while a field would hold more than
 * `maxIds` ids, the least recently seen are freed (ties by key), never one
 * seen in the file: when the file's ids alone are too many, its
 * lowest-count new ids are not added (they stay OOV). Numeric statistics,
 * list lengths and hash fields are unchanged. Limits given here are kept
 * in the encoders (over the ones base keeps) for the next extension.
 */
export async function extendEncoders(base: Encoders, source: string, options: ExtendOptions): Promise<{ encoders: Encoders; growth: VocabularyGrowth }> {
  const { day } = options;
  if (!Number.isInteger(day) || day < 0) throw new Error(`day: expected a whole number of at least 0, got ${day}`);
  const baseDay = base.state.day;
  if (baseDay !== undefined && day < baseDay) throw new Error(`day ${day} is before the encoders' day ${baseDay}: encoders only grow forward in time`);
  const limits = encoderLimits(base.config, base.state.limits ?? {}, options);
  const table = await openTable(source, { ...base.config.csv, ...options.csv });
  requireColumns(table, base.columns(true));
  const { counters } = await countTable(table, base.config, options);

  const vocabularies = { ...base.state.vocabularies };
  const lastSeen: Record<string, number[]> = {};
  const grew: Record<string, Omit<FieldGrowth, 'size'>> = {};
  // Entries of encoders that never recorded a last-seen day were seen by the data before this day at the latest.
  const unrecorded = baseDay ?? Math.max(0, day - 1);
  for (const f of base.config.fields) {
    if (f.kind === 'numeric' || f.encoding.kind !== 'vocabulary') continue;
    const values = base.state.vocabularies[f.name]!;
    const seen = base.state.lastSeen?.[f.name] ?? values.map((v) => (v === null ? -1 : unrecorded));
    const grown = growField(values, seen, counters.get(f.name)!.ranked(), {
      day,
      minCount: f.encoding.minCount,
      maxIds: limits.maxIds?.[f.name],
      evictAfterDays: limits.evictAfterDays,
    });
    vocabularies[f.name] = grown.values;
    lastSeen[f.name] = grown.lastSeen;
    grew[f.name] = grown.growth;
  }
  const { numeric, maxLength } = base.state;
  const encoders = new Encoders(base.config, { vocabularies, numeric, maxLength, lastSeen, day, ...(Object.keys(limits).length > 0 ? { limits } : {}) });
  const growth: VocabularyGrowth = {};
  for (const f of encoders.schema.fields) {
    const g = grew[f.name];
    if (g && f.kind !== 'numeric') growth[f.name] = { size: tableSize(f), ...g };
  }
  return { encoders, growth };
}

interface GrowOptions {
  day: number;
  minCount: number;
  maxIds: number | undefined;
  evictAfterDays: number | undefined;
}

/** One field's vocabulary grown with the day's `ranked` categories (count desc, ties by key). */
function growField(
  before: readonly (string | null)[],
  seenBefore: readonly number[],
  ranked: [string, number][],
  o: GrowOptions,
): { values: (string | null)[]; lastSeen: number[]; growth: Omit<FieldGrowth, 'size'> } {
  const values = [...before];
  const lastSeen = [...seenBefore];
  const index = new Map<string, number>();
  for (const [i, v] of values.entries()) if (v !== null) index.set(v, i);
  let known = 0;
  const fresh: string[] = [];
  for (const [key, n] of ranked) {
    const i = index.get(key);
    if (i !== undefined) {
      lastSeen[i] = o.day;
      known++;
    } else if (n >= o.minCount) fresh.push(key);
  }

  const evictedIds: string[] = [];
  /** Rows holding an id, least recently seen first (ties by key). */
  const byAge = (keep: (i: number) => boolean) =>
    [...values.keys()].filter((i) => values[i] !== null && keep(i)).sort((a, b) => lastSeen[a]! - lastSeen[b]! || compareKeys(values[a]!, values[b]!));
  const free = (rows: number[]) => {
    for (const i of rows) {
      evictedIds.push(values[i]!);
      values[i] = null;
      lastSeen[i] = -1;
    }
  };
  const evictAfter = o.evictAfterDays;
  if (evictAfter !== undefined) free(byAge((i) => o.day - lastSeen[i]! >= evictAfter));
  let adding = fresh;
  if (o.maxIds !== undefined) {
    const held = values.reduce((n, v) => n + (v === null ? 0 : 1), 0);
    const over = held + fresh.length - o.maxIds;
    if (over > 0) {
      const old = byAge((i) => lastSeen[i]! < o.day);
      free(old.slice(0, over));
      const room = o.maxIds - (held - Math.min(over, old.length));
      adding = fresh.slice(0, Math.max(0, room));
    }
  }

  const freed = [...values.keys()].filter((i) => values[i] === null);
  let reused = 0;
  for (const key of adding) {
    if (reused < freed.length) {
      const i = freed[reused++]!;
      values[i] = key;
      lastSeen[i] = o.day;
    } else {
      values.push(key);
      lastSeen.push(o.day);
    }
  }
  const growth = { known, added: adding.length, reused, evicted: evictedIds.length, evictedIds: evictedIds.slice(0, EVICTED_LISTED) };
  return { values, lastSeen, growth };
}
