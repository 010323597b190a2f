import { categoryKey } from './values.js';

/**
 * Counts categories in one pass. Keys are counted as they arrive (numbers
 * stay numbers, which is much cheaper than stringifying every cell) and
 * merged by their string form at the end.
 */
export class CategoryCounter {
  private counts = new Map<unknown, number>();

  add(v: unknown): void {
    if (v === null || v === undefined || v === '') return;
    this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
  }

  /** Categories seen at least `minCount` times with their counts, by descending count (ties by key, so refits reproduce). */
  ranked(minCount = 1): [key: string, count: number][] {
    const merged = new Map<string, number>();
    for (const [k, n] of this.counts) {
      const key = categoryKey(k)!;
      merged.set(key, (merged.get(key) ?? 0) + n);
    }
    const kept = [...merged].filter(([, n]) => n >= minCount);
    kept.sort((a, b) => b[1] - a[1] || compareKeys(a[0], b[0]));
    return kept;
  }

  /** Ids 1..n by descending count (ties by key, so refits reproduce); id 0 is OOV. */
  build(minCount: number, maxSize?: number): string[] {
    const kept = this.ranked(minCount);
    return kept.slice(0, maxSize ?? kept.length).map(([k]) => k);
  }
}

/** The one order of category keys used to break ties (code units, as `<` compares strings). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const CACHE_LIMIT = 1 << 20;

/** The first category a vocabulary lists twice (`second` is its later index), or undefined; freed rows (null) are no category. */
export function duplicateEntry(values: readonly (string | null)[]): { first: number; second: number; message: string } | undefined {
  const seen = new Map<string, number>();
  for (const [i, v] of values.entries()) {
    if (v === null) continue;
    const first = seen.get(v);
    if (first !== undefined) return { first, second: i, message: `${JSON.stringify(v)} is listed twice (entries ${first} and ${i}); each category has one id` };
    seen.set(v, i);
  }
  return undefined;
}

/**
 * Category → id lookups; unknown and missing values get the OOV id 0.
 * Entry i is table row i + 1; a null entry is a row freed by eviction
 * (extendEncoders): no category maps to it until a new one reuses it.
 */
export class Vocabulary {
  private readonly ids: Map<string, number>;
  /** Non-string cells (ints from Parquet) resolved once, so hot loops skip String(). */
  private cache = new Map<unknown, number>();
  /**
   * Ids of the categories that are small non-negative integers, indexed by
   * value (0: not in the vocabulary): integer cells, the commonest ids, are
   * looked up without a Map. Kept only while no longer than a few times the
   * vocabulary (else empty).
   */
  private readonly small: Int32Array;

  constructor(readonly values: readonly (string | null)[]) {
    this.ids = new Map();
    for (const [i, v] of values.entries()) if (v !== null) this.ids.set(v, i + 1);
    this.small = smallIntegerIds(values);
    // Two ids for one category: rows would score by whichever the map kept, and the other row of the table is dead.
    const twice = duplicateEntry(values);
    if (twice) throw new Error(`vocabulary: ${twice.message}`);
  }

  /** Table rows, the OOV row and freed rows included (at least 2: the schema's minimum). */
  get size(): number {
    return Math.max(2, this.values.length + 1);
  }

  id(v: unknown): number {
    if (typeof v === 'string') {
      // Text of a small integer ("7", not "07"): the table holds every such category, so it answers for all of them.
      const k = this.small.length > 0 ? smallInteger(v) : -1;
      if (k >= 0) return k < this.small.length ? this.small[k]! : 0;
      return this.ids.get(v) ?? 0;
    }
    if (v === null || v === undefined) return 0;
    // An integer in range is its own text's key (String(7) is "7", String(-0) is "0"), which the table holds.
    if (typeof v === 'number' && v >= 0 && v < this.small.length && Math.floor(v) === v) return this.small[v]!;
    let id = this.cache.get(v);
    if (id === undefined) {
      id = this.ids.get(categoryKey(v)!) ?? 0;
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(v, id);
    }
    return id;
  }
}

/** The value of text in the table's form (canonical decimal, at most 9 digits: /^(0|[1-9]\d{0,8})$/), else -1. */
function smallInteger(s: string): number {
  const n = s.length;
  if (n === 0 || n > 9) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || (d === 0 && i === 0 && n > 1)) return -1;
    x = x * 10 + d;
  }
  return x;
}

/** The table of Vocabulary.small: entry k is the id of the category "k" (canonical decimal), for k up to the largest such category. */
function smallIntegerIds(values: readonly (string | null)[]): Int32Array {
  let max = -1;
  for (const v of values) if (v !== null && /^(0|[1-9]\d{0,8})$/.test(v)) max = Math.max(max, Number(v));
  if (max < 0 || max >= 4 * values.length + 1024) return new Int32Array(0);
  const table = new Int32Array(max + 1);
  for (const [i, v] of values.entries()) if (v !== null && /^(0|[1-9]\d{0,8})$/.test(v)) table[Number(v)] = i + 1;
  return table;
}
