// AUC as the Mann–Whitney statistic: the fraction of (positive, negative) pairs
// ranked correctly, tied pairs counting 1/2 — identical to the average-rank
// rank-sum formula. Sorting the two classes separately lets us use the native
// numeric typed-array sort (no comparator, no index array), which is what keeps
// millions of rows cheap.

/**
 * AUC from ascending-sorted positive and negative scores. Both must be non-empty
 * and NaN-free. Wins are counted doubled so ties stay integral: the total
 * (≤ 2·P·N) is exact while P·N < 2^52.
 */
export function aucOfSorted(pos: Float64Array, neg: Float64Array): number {
  const nPos = pos.length;
  const nNeg = neg.length;
  let doubledWins = 0;
  let below = 0; // negatives strictly below the current positive value
  let i = 0;
  while (i < nPos) {
    const v = pos[i]!;
    let iEnd = i + 1;
    while (iEnd < nPos && pos[iEnd] === v) iEnd++;
    while (below < nNeg && neg[below]! < v) below++;
    let tiedEnd = below;
    while (tiedEnd < nNeg && neg[tiedEnd] === v) tiedEnd++;
    doubledWins += (iEnd - i) * (2 * below + (tiedEnd - below));
    i = iEnd;
  }
  return doubledWins / (2 * nPos * nNeg);
}

/** First index in ascending `sorted` whose value is not below `v` (the count of values < v). */
export function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in ascending `sorted` whose value is above `v` (the count of values ≤ v). */
export function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Mid-placement of `v` among the ascending `sorted` scores of the other class:
 * the count below `v` plus half the count tied with it. It equals the
 * difference of `v`'s midrank in the pooled sample and in its own class, the
 * quantity Sun & Xu (2014) compute with midranks; AUC is the mean placement
 * of the positives divided by the negative count.
 */
export function midPlacement(sorted: Float64Array, v: number): number {
  const below = lowerBound(sorted, v);
  return below + (upperBound(sorted, v) - below) / 2;
}
