import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT, MovingWorld } from './moving.js';
import { buildWorld, DEFAULT_SIZES, DIM } from './world.js';

const sizes = { ...DEFAULT_SIZES, users: 3000, items: 4000 };
/** Each entry's probability of being drawn, from a cumulative distribution. */
const weights = (cum: Float64Array) => Array.from(cum, (c, i) => c - (i ? cum[i - 1]! : 0));

describe('MovingWorld', () => {
  it("is the world of its seed on day 0: the same users, items and popularity (unborn entries weigh 0)", () => {
    const base = buildWorld(5, sizes);
    const w = new MovingWorld(5, sizes, 4).day(0);
    expect(Array.from(w.user.vec.subarray(0, base.user.vec.length))).toEqual(Array.from(base.user.vec));
    expect(Array.from(w.item.price.subarray(0, sizes.items))).toEqual(Array.from(base.item.price));
    expect(Array.from(w.item.cum.subarray(0, sizes.items))).toEqual(Array.from(base.item.cum));
    expect(Array.from(w.item.cum.subarray(sizes.items)).every((c) => c === 1)).toBe(true);
    expect(w.user.tags.slice(0, sizes.users)).toEqual(base.user.tags);
  });

  it('visits days in order only', () => {
    const m = new MovingWorld(5, sizes, 4);
    m.day(0);
    expect(() => m.day(2)).toThrow(/days are visited in order, the next is 1/);
  });

  it('bears cohorts at the next indices, lets faded entries leave for good, shifts ranks and walks tastes with a steady spread', () => {
    const days = 14;
    const m = new MovingWorld(9, sizes, days);
    const perDay = Math.round(DEFAULT_DRIFT.itemBirth * sizes.items);
    const w0 = m.day(0);
    const vec0 = Float32Array.from(w0.user.vec.subarray(0, sizes.users * DIM));
    const rank0 = Int32Array.from(w0.item.rank);
    const gone = new Set<number>();
    let w = w0;
    for (let d = 1; d < days; d++) {
      w = m.day(d);
      expect(m.firstBorn('item', d)).toBe(sizes.items + (d - 1) * perDay);
      const p = weights(w.item.cum);
      // Born today: drawn from today on, nothing beyond today's cohort yet.
      const first = m.firstBorn('item', d);
      expect(p.slice(first, first + perDay).filter((x) => x > 0).length).toBeGreaterThan(perDay * 0.9);
      expect(p.slice(first + perDay).every((x) => x === 0)).toBe(true);
      // Gone stays gone.
      for (const i of gone) expect(p[i]).toBe(0);
      p.forEach((x, i) => {
        if (x === 0 && i < first) gone.add(i);
      });
    }
    // By day 13 a good part of day 0's catalogue has left: exponential lifetimes of 16 days and a fade of a few days.
    const left = [...gone].filter((i) => i < sizes.items).length / sizes.items;
    expect(left).toBeGreaterThan(0.3);
    expect(left).toBeLessThan(0.8);
    // Zipf ranks shift: of day 0's 100 most popular items still there on day 13, few are still in the top 100.
    const top0 = [...rank0.keys()].filter((i) => rank0[i]! >= 0 && rank0[i]! < 100 && w.item.rank[i]! >= 0);
    expect(top0.filter((i) => w.item.rank[i]! < 100).length).toBeLessThan(top0.length / 2);
    // Tastes: an AR(1) walk at 0.97 a day, correlation ≈ 0.97^13 ≈ 0.67 with day 0, spread kept (sd 0.5).
    let dot = 0, a2 = 0, b2 = 0;
    for (let k = 0; k < vec0.length; k++) {
      dot += vec0[k]! * w.user.vec[k]!;
      a2 += vec0[k]! ** 2;
      b2 += w.user.vec[k]! ** 2;
    }
    expect(dot / Math.sqrt(a2 * b2)).toBeGreaterThan(0.6);
    expect(dot / Math.sqrt(a2 * b2)).toBeLessThan(0.75);
    expect(Math.sqrt(b2 / vec0.length)).toBeGreaterThan(0.47);
    expect(Math.sqrt(b2 / vec0.length)).toBeLessThan(0.53);
  });
});
