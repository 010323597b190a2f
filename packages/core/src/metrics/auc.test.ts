import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { auc } from './auc.js';


/** O(n²) definition: fraction of (pos, neg) pairs ordered correctly, ties 1/2. */
function bruteForceAuc(scores: number[], labels: number[], mask?: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1 || (mask && mask[i] !== 1)) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0 || (mask && mask[j] !== 1)) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

/** Independent algorithm: average ranks over the whole set, rank-sum formula. */
function rankSumAuc(scores: Float64Array, labels: Uint8Array): number {
  const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1..j
    for (let r = i; r < j; r++) {
      if (labels[order[r]!] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j;
  }
  const nNeg = order.length - nPos;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

function randomCase(seed: number, n: number) {
  const rand = mulberry32(seed);
  const scores: number[] = [];
  const labels: number[] = [];
  const mask: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rand() < 0.3 ? 1 : 0;
    // Rounded to one decimal: lots of ties, including across classes.
    scores.push(Math.round((rand() * 0.7 + y * 0.3) * 10) / 10);
    labels.push(y);
    mask.push(rand() < 0.6 ? 1 : 0);
  }
  return { scores, labels, mask };
}

describe('auc', () => {
  for (const seed of [1, 2, 3, 42, 2024]) {
    it(`equals the brute-force pairwise count with many ties (seed ${seed})`, () => {
      const { scores, labels } = randomCase(seed, 400);
      const expected = bruteForceAuc(scores, labels);
      expect(expected).not.toBe(0.5); // the case is not degenerate
      expect(auc(scores, labels)).toBeCloseTo(expected, 12);
      expect(auc(Float64Array.from(scores), Uint8Array.from(labels))).toBeCloseTo(expected, 12);
    });

    it(`equals the brute-force count on masked rows only (seed ${seed})`, () => {
      const { scores, labels, mask } = randomCase(seed, 400);
      const expected = bruteForceAuc(scores, labels, mask);
      expect(expected).not.toBeCloseTo(bruteForceAuc(scores, labels), 6);
      expect(auc(scores, labels, mask)).toBeCloseTo(expected, 12);
    });
  }

  it('agrees with the average-rank rank-sum formula on 200k rows', () => {
    const rand = mulberry32(7);
    const n = 200_000;
    const scores = new Float64Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rand() < 0.05 ? 1 : 0;
      scores[i] = Math.round((rand() + labels[i]! * 0.2) * 1000) / 1000;
    }
    expect(auc(scores, labels)).toBeCloseTo(rankSumAuc(scores, labels), 12);
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    const labels = [0, 0, 1, 0, 1, 1];
    const perfect = [0.1, 0.2, 0.7, 0.3, 0.8, 0.9];
    expect(auc(perfect, labels)).toBe(1);
    expect(auc(perfect.map((s) => -s), labels)).toBe(0);
  });

  it('counts a fully tied set as 1/2 and handles ±Infinity and -0', () => {
    expect(auc([0.3, 0.3, 0.3], [1, 0, 1])).toBe(0.5);
    expect(auc([Infinity, -Infinity], [1, 0])).toBe(1);
    expect(auc([-0, 0], [1, 0])).toBe(0.5);
  });

  it('is exact on Float32 scores (no rounding to a different tie structure)', () => {
    const s = Float32Array.from([0.1, 0.1, 0.2, 0.3]);
    expect(auc(s, [0, 1, 0, 1])).toBe((0.5 + 1 + 1 + 0) / 4);
  });

  it('returns NaN when only one class is selected', () => {
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(auc([0.1, 0.2, 0.3], [1, 0, 1], [1, 0, 1])).toBeNaN();
    expect(auc([], [])).toBeNaN();
  });

  it('throws naming the index on NaN score, bad label, bad mask and length mismatch', () => {
    expect(() => auc([0.1, NaN, 0.3], [0, 1, 1])).toThrow(/scores\[1\] is NaN/);
    expect(() => auc([0.1, 0.2, 0.3], [0, 1, 2])).toThrow(/labels\[2\] = 2, expected 0 or 1/);
    expect(() => auc([0.1, 0.2], [0, 0.5])).toThrow(/labels\[1\] = 0.5/);
    expect(() => auc([0.1, 0.2], [0, 1], [1, 0.5])).toThrow(/mask\[1\] = 0.5/);
    expect(() => auc([0.1, 0.2, 0.3], [0, 1])).toThrow(/length mismatch: labels has length 2 but scores has length 3/);
    expect(() => auc([0.1, 0.2], [0, 1], [1])).toThrow(/mask has length 1/);
  });

  it('ignores NaN scores on masked-out rows', () => {
    expect(auc([0.1, NaN, 0.9], [0, 1, 1], [1, 0, 1])).toBe(1);
  });
});
