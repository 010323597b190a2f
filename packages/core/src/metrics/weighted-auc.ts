import { internGroups } from './groups.js';
import { lowerBound } from './mann-whitney.js';
import { checkSameLength, readLabel, readScore, type NumericArray } from './validate.js';

/**
 * Rows ranked once so that AUC (or per-group AUC) under any row weighting
 * costs O(n): every row gets its score's level (the index of its value among
 * the distinct scores, ties sharing a level), and `order` lists the rows by
 * group, then by level. Building it sorts once (native typed-array sort plus a
 * binary search per row, O(n log n)); a bootstrap then re-weights the same
 * ranking for every resample instead of re-sorting.
 */
export class WeightedAucRanking {
  readonly rows: number;
  private readonly level: Uint32Array;
  private readonly positive: Uint8Array;
  /** Rows in ascending level. */
  private readonly byLevel: Uint32Array;
  /** Rows by group, ascending level within a group (= byLevel without groups). */
  private readonly order: Uint32Array;
  /** Group g's rows are order[segment[g] .. segment[g + 1]). One segment without groups. */
  private readonly segment: Uint32Array;

  constructor(
    scores: NumericArray,
    labels: NumericArray,
    groups?: ArrayLike<number | string>,
    fn = 'WeightedAucRanking',
  ) {
    const n = checkSameLength(fn, { scores, labels, groups });
    this.rows = n;
    const sorted = new Float64Array(n);
    this.positive = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      sorted[i] = readScore(fn, 'scores', scores, i);
      this.positive[i] = readLabel(fn, 'labels', labels, i);
    }
    sorted.sort();
    let levels = 0;
    for (let i = 0; i < n; i++) {
      if (levels === 0 || sorted[i] !== sorted[levels - 1]) sorted[levels++] = sorted[i]!;
    }
    const distinct = sorted.subarray(0, levels);
    this.level = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.level[i] = lowerBound(distinct, scores[i]!);

    // Counting sort by level, then (stable) by group: rows grouped, ascending level within a group.
    const byLevel = countingSort(this.level, levels);
    this.byLevel = byLevel;
    if (groups === undefined) {
      this.order = byLevel;
      this.segment = Uint32Array.of(0, n);
      return;
    }
    const { code, count: nGroups } = internGroups(fn, groups);
    const start = new Uint32Array(nGroups + 1);
    for (let i = 0; i < n; i++) start[code[i]! + 1]!++;
    for (let g = 0; g < nGroups; g++) start[g + 1]! += start[g]!;
    const fill = start.slice(0, nGroups);
    this.order = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const i = byLevel[k]!;
      this.order[fill[code[i]!]!++] = i;
    }
    this.segment = start;
  }

  /** Number of groups (1 when built without groups). */
  get groups(): number {
    return this.segment.length - 1;
  }

  /**
   * Weighted AUC over all rows: Σ wᵢwⱼ·[sᵢ > sⱼ] (ties ½) over positive i and
   * negative j, divided by (Σ positive w)(Σ negative w). With integer weights
   * this is exactly `auc` of the data with row i repeated wᵢ times. NaN when
   * either class has zero total weight. Groups, if any, are ignored.
   */
  auc(weights: NumericArray): number {
    this.checkWeights(weights);
    return sweep(this.byLevel, 0, this.rows, this.level, this.positive, weights).auc;
  }

  /**
   * Weighted GAUC: each group's weighted AUC, weighted by the group's total
   * row weight, over groups with positive weight in both classes. With
   * integer weights this is `gauc` of the data with row i repeated wᵢ times
   * (a group drawn twice in a resample counts twice). `users` is the count of
   * groups that contributed. NaN when none did.
   */
  gauc(weights: NumericArray): { gauc: number; users: number } {
    this.checkWeights(weights);
    let weighted = 0;
    let total = 0;
    let users = 0;
    for (let g = 0; g < this.groups; g++) {
      const s = sweep(this.order, this.segment[g]!, this.segment[g + 1]!, this.level, this.positive, weights);
      if (!(s.wPos > 0 && s.wNeg > 0)) continue;
      const w = s.wPos + s.wNeg;
      weighted += w * s.auc;
      total += w;
      users++;
    }
    return { gauc: users === 0 ? NaN : weighted / total, users };
  }

  private checkWeights(weights: NumericArray): void {
    if (weights.length !== this.rows) {
      throw new Error(`weighted AUC: weights has length ${weights.length} but the ranking has ${this.rows} rows`);
    }
  }
}

/** Row indices sorted stably by key (keys < buckets), O(n + buckets). */
function countingSort(key: Uint32Array, buckets: number): Uint32Array {
  const start = new Uint32Array(buckets + 1);
  for (let i = 0; i < key.length; i++) start[key[i]! + 1]!++;
  for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
  const order = new Uint32Array(key.length);
  for (let i = 0; i < key.length; i++) order[start[key[i]!]!++] = i;
  return order;
}

/** Weighted Mann–Whitney sweep over order[from..to), which is in ascending level. */
function sweep(
  order: Uint32Array,
  from: number,
  to: number,
  level: Uint32Array,
  positive: Uint8Array,
  weights: NumericArray,
): { auc: number; wPos: number; wNeg: number } {
  let negBelow = 0;
  let wins = 0;
  let wPos = 0;
  let k = from;
  while (k < to) {
    const lv = level[order[k]!]!;
    let pw = 0;
    let nw = 0;
    while (k < to && level[order[k]!] === lv) {
      const i = order[k]!;
      const w = weights[i]!;
      if (positive[i] === 1) pw += w;
      else nw += w;
      k++;
    }
    wins += pw * (negBelow + nw / 2);
    negBelow += nw;
    wPos += pw;
  }
  return { auc: wPos > 0 && negBelow > 0 ? wins / (wPos * negBelow) : NaN, wPos, wNeg: negBelow };
}

/**
 * Exact weighted ROC AUC, ties averaged: row i counts wᵢ times (wᵢ ≥ 0,
 * finite; fractional weights allowed). With all weights 1 it equals `auc`.
 * NaN when either class has zero total weight. Bad input throws naming the
 * array and index.
 */
export function weightedAuc(scores: NumericArray, labels: NumericArray, weights: NumericArray): number {
  checkSameLength('weightedAuc', { scores, labels, weights });
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (w === undefined || !(w >= 0 && w < Infinity)) {
      throw new Error(`weightedAuc: weights[${i}] = ${String(w)}, expected a finite weight ≥ 0`);
    }
  }
  return new WeightedAucRanking(scores, labels, undefined, 'weightedAuc').auc(weights);
}
