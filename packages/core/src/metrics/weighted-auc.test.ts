import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { auc } from './auc.js';
import { gauc } from './gauc.js';
import { WeightedAucRanking, weightedAuc } from './weighted-auc.js';

/** O(n²) definition: Σ wᵢwⱼ ψ(sᵢ, sⱼ) over positive i, negative j, over Σw⁺·Σw⁻. */
function bruteForceWeightedAuc(s: number[], y: number[], w: number[]): number {
  let num = 0;
  let wp = 0;
  let wn = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] === 1) wp += w[i]!;
    else wn += w[i]!;
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0) continue;
      num += w[i]! * w[j]! * (s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0);
    }
  }
  return num / (wp * wn);
}

function randomCase(seed: number, n: number, integerWeights: boolean) {
  const rand = mulberry32(seed);
  const s: number[] = [];
  const y: number[] = [];
  const w: number[] = [];
  const user: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = rand() < 0.3 ? 1 : 0;
    y.push(label);
    s.push(Math.round((rand() * 0.7 + label * 0.3) * 10) / 10); // many ties
    w.push(integerWeights ? Math.floor(rand() * 4) : rand() * 3); // zeros included
    user.push(`u${Math.floor(rand() * 12)}`);
  }
  return { s, y, w, user };
}

/** Row i repeated w[i] times. */
function repeat<T>(v: T[], w: number[]): T[] {
  return v.flatMap((x, i) => Array<T>(w[i]!).fill(x));
}

describe('weightedAuc', () => {
  for (const seed of [1, 2, 3]) {
    it(`equals the brute-force weighted pair count, fractional weights, many ties (seed ${seed})`, () => {
      const { s, y, w } = randomCase(seed, 300, false);
      const expected = bruteForceWeightedAuc(s, y, w);
      expect(expected).not.toBeCloseTo(auc(s, y), 4); // the weights matter
      expect(weightedAuc(s, y, w)).toBeCloseTo(expected, 12);
    });

    it(`with integer weights equals auc of the rows repeated (seed ${seed})`, () => {
      const { s, y, w } = randomCase(seed, 300, true);
      expect(weightedAuc(s, y, w)).toBeCloseTo(auc(repeat(s, w), repeat(y, w)), 13);
    });
  }

  it('equals auc with unit weights, including ±0 and ±Infinity ties', () => {
    const s = [-0, 0, Infinity, -Infinity, 0.5, 0.5];
    const y = [1, 0, 1, 0, 0, 1];
    expect(weightedAuc(s, y, [1, 1, 1, 1, 1, 1])).toBe(auc(s, y));
  });

  it('is NaN when a class has zero total weight, and rejects bad weights', () => {
    expect(weightedAuc([0.1, 0.9, 0.5], [0, 1, 1], [1, 0, 0])).toBeNaN();
    expect(weightedAuc([], [], [])).toBeNaN();
    expect(() => weightedAuc([0.1, 0.9], [0, 1], [1, -1])).toThrow(/weights\[1\] = -1, expected a finite weight ≥ 0/);
    expect(() => weightedAuc([0.1, 0.9], [0, 1], [1, NaN])).toThrow(/weights\[1\] = NaN/);
    expect(() => weightedAuc([0.1, NaN], [0, 1], [1, 1])).toThrow(/weightedAuc: scores\[1\] is NaN/);
    expect(() => weightedAuc([0.1, 0.2], [0, 1], [1])).toThrow(/length mismatch/);
  });
});

describe('WeightedAucRanking', () => {
  it('re-weights one ranking: each weighting equals a fresh auc of the repeated rows', () => {
    const { s, y } = randomCase(9, 200, true);
    const ranking = new WeightedAucRanking(s, y);
    const rand = mulberry32(10);
    for (let r = 0; r < 5; r++) {
      const w = s.map(() => Math.floor(rand() * 3));
      expect(ranking.auc(w)).toBeCloseTo(auc(repeat(s, w), repeat(y, w)), 13);
    }
    expect(() => ranking.auc([1, 2])).toThrow(/weights has length 2 but the ranking has 200 rows/);
  });

  for (const seed of [4, 5]) {
    it(`gauc with integer weights equals gauc of the rows repeated (seed ${seed})`, () => {
      const { s, y, w, user } = randomCase(seed, 300, true);
      const ranking = new WeightedAucRanking(s, y, user);
      expect(ranking.groups).toBe(new Set(user).size);
      const expected = gauc(repeat(s, w), repeat(y, w), repeat(user, w));
      const got = ranking.gauc(w);
      expect(expected.users).toBeGreaterThan(3);
      expect(got.users).toBe(expected.users);
      expect(got.gauc).toBeCloseTo(expected.gauc, 13);
      // Unit weights: plain gauc; and auc ignores the groups.
      const ones = s.map(() => 1);
      expect(ranking.gauc(ones).gauc).toBeCloseTo(gauc(s, y, user).gauc, 13);
      expect(ranking.auc(w)).toBeCloseTo(weightedAuc(s, y, w), 13);
    });
  }

  it('rejects a missing group id naming the index', () => {
    expect(() => new WeightedAucRanking([0.1, 0.2], [0, 1], ['a', undefined as unknown as string])).toThrow(
      /groups\[1\] is undefined/,
    );
  });
});
