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
