import { describe, expect, it } from 'vitest';
import { generateSynthetic, SYNTHETIC_CATEGORICAL, type SyntheticChunk } from './generate.js';
import { DEFAULT_SIZES } from './world.js';

function collect(rows: number, seed: number, truth = true): SyntheticChunk['values'][] {
  return [...generateSynthetic({ rows, seed, truth }).chunks()].map((c) => c.values);
}

describe('generateSynthetic', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = collect(3000, 7);
    const b = collect(3000, 7);
    const c = collect(3000, 8);
    expect(a).toEqual(b);
    expect(a[0]![0]).not.toEqual(c[0]![0]);
  });

  it('refuses seeds outside 0…2^32 − 1 (the generators keep 32 bits: 2^32 + 1 would repeat seed 1)', () => {
    expect(() => generateSynthetic({ rows: 10, seed: 2 ** 32 + 1 })).toThrow(/seed: 4294967297 is outside 0…4294967295/);
    expect(() => generateSynthetic({ rows: 10, seed: -1 })).toThrow(/seed: -1 is outside/);
    expect(() => generateSynthetic({ rows: 10, seed: 1, worldSeed: 0.5 })).toThrow(/worldSeed: expected a whole number/);
    expect(() => generateSynthetic({ rows: 10, seed: 2 ** 32 - 1 })).not.toThrow();
  });

  it('shares the latent world across seeds when worldSeed is given', () => {
    const run = (seed: number, worldSeed?: number) => [...generateSynthetic({ rows: 4000, seed, worldSeed }).chunks()];
    expect(run(7, 7).map((c) => c.values)).toEqual(collect(4000, 7, false));
    // item → category is a property of the world: files from one world agree on it.
    const categoryOf = (chunks: SyntheticChunk[]) => {
      const m = new Map<number, number>();
      for (const c of chunks) c.values[1]!.forEach((item, i) => m.set(item as number, c.values[2]![i] as number));
      return m;
    };
    const agreement = (a: Map<number, number>, b: Map<number, number>) => {
      let same = 0, shared = 0;
      for (const [item, cat] of a) if (b.has(item)) { shared++; if (b.get(item) === cat) same++; }
      return { same, shared };
    };
    const base = categoryOf(run(1, 5));
    const sameWorld = agreement(base, categoryOf(run(2, 5)));
    expect(sameWorld.shared).toBeGreaterThan(50);
    expect(sameWorld.same).toBe(sameWorld.shared);
    const otherWorld = agreement(base, categoryOf(run(2, 6)));
    expect(otherWorld.same).toBeLessThan(otherWorld.shared * 0.5);
  });

  it('draws users and items from a world of the given size', () => {
    const sizes = { ...DEFAULT_SIZES, users: 50, items: 70 };
    const chunks = [...generateSynthetic({ rows: 5000, seed: 2, sizes }).chunks()];
    const max = (col: number) => Math.max(...chunks.flatMap((c) => Array.from(c.values[col] as Int32Array)));
    expect(max(0)).toBeLessThanOrEqual(50);
    expect(max(1)).toBeLessThanOrEqual(70);
    expect(max(0)).toBeGreaterThan(40);
  });

  it('has nine categorical fields, a list field and two numbers', () => {
    const d = generateSynthetic({ rows: 10, seed: 1, truth: true });
    expect(SYNTHETIC_CATEGORICAL).toHaveLength(9);
    expect(d.columns.map((c) => c.name)).toEqual([
      ...SYNTHETIC_CATEGORICAL, 'user_tags', 'price', 'item_rating', 'click', 'daction', 'buy',
      'true_pctr', 'true_pctavr', 'true_pcvr', 'true_pctcvr',
    ]);
    expect(generateSynthetic({ rows: 10, seed: 1 }).columns).toHaveLength(15);
  });

  it('hits the paper-like funnel rates and keeps buy|DAction far above buy|OAction', () => {
    const n = 400_000;
    let clicks = 0, dactions = 0, buys = 0, buyD = 0, sumPctr = 0, funnelBreaks = 0, composition = 0;
    for (const chunk of generateSynthetic({ rows: n, seed: 11, truth: true }).chunks()) {
      const [click, daction, buy] = [chunk.values[12], chunk.values[13], chunk.values[14]] as Uint8Array[];
      const [pctr, pctavr, pcvr, pctcvr] = chunk.values.slice(15) as Float64Array[];
      for (let i = 0; i < chunk.size; i++) {
        clicks += click![i]!;
        dactions += daction![i]!;
        buys += buy![i]!;
        if (daction![i] && buy![i]) buyD++;
        sumPctr += pctr![i]!;
        if (!click![i] && (daction![i] || buy![i])) funnelBreaks++;
        // pCTCVR = pCTR · pCVR and pCTAVR <= pCTR, up to the 6-digit rounding.
        if (Math.abs(pctcvr![i]! - pctr![i]! * pcvr![i]!) > 1e-5 * pctr![i]! || pctavr![i]! > pctr![i]! * (1 + 1e-5)) composition++;
      }
    }
    expect(funnelBreaks).toBe(0);
    expect(composition).toBe(0);
    // Sampling error at these sizes is well inside the tolerances (CTR: ±0.06 % at 2σ).
    expect(clicks / n).toBeGreaterThan(0.035);
    expect(clicks / n).toBeLessThan(0.045);
    expect(Math.abs(sumPctr / n - clicks / n)).toBeLessThan(0.002);
    expect(dactions / clicks).toBeGreaterThan(0.08);
    expect(dactions / clicks).toBeLessThan(0.12);
    expect(buys / clicks).toBeGreaterThan(0.007);
    expect(buys / clicks).toBeLessThan(0.013);
    const buyPerD = buyD / dactions;
    const buyPerO = (buys - buyD) / (clicks - dactions);
    expect(buyPerD / buyPerO).toBeGreaterThan(6);
  });
});

describe('generateSynthetic with days (a world that moves)', () => {
  const sizes = { ...DEFAULT_SIZES, users: 2000, items: 3000 };
  const byName = (d: ReturnType<typeof generateSynthetic>) => {
    const chunks = [...d.chunks()];
    const col = (name: string) => {
      const j = d.columns.findIndex((c) => c.name === name);
      if (j < 0) throw new Error(`no column ${name}`);
      return chunks.flatMap((c) => Array.from(c.values[j] as ArrayLike<number>));
    };
    return { chunks, col };
  };

  it('writes a leading day column 0…N−1 in day order with the rows split evenly, and refuses bad days', () => {
    const d = generateSynthetic({ rows: 3002, seed: 4, days: 3, sizes, chunkSize: 400 });
    expect(d.columns[0]).toEqual({ name: 'day', type: 'INTEGER' });
    expect(d.columns.slice(1).map((c) => c.name)).toEqual(generateSynthetic({ rows: 10, seed: 4 }).columns.map((c) => c.name));
    // The day is when a row happened, not a feature.
    expect(d.config.exclude).toEqual(['day']);
    const day = byName(d).col('day');
    expect(day).toHaveLength(3002);
    expect(day.every((x, i) => i === 0 || x >= day[i - 1]!)).toBe(true);
    expect([0, 1, 2].map((k) => day.filter((x) => x === k).length)).toEqual([1001, 1001, 1000]);
    expect(() => generateSynthetic({ rows: 10, seed: 1, days: 0 })).toThrow(/days must be a positive integer, got 0/);
    expect(() => generateSynthetic({ rows: 10, seed: 1, days: 1.5 })).toThrow(/days must be a positive integer/);
    expect(() => generateSynthetic({ rows: 2, seed: 1, days: 3 })).toThrow(/rows \(2\) must be at least days \(3\)/);
  });

  it("leaves the draws without days alone: day 0's rows are the rows written without days, so days: 1 only adds the day column", () => {
    for (const truth of [false, true]) {
      const plain = collect(2500, 9, truth);
      const flat = (chunks: SyntheticChunk['values'][]) => plain[0]!.map((_, j) => chunks.flatMap((c) => Array.from(c[j] as ArrayLike<unknown>)));
      const one = [...generateSynthetic({ rows: 2500, seed: 9, truth, days: 1 }).chunks()].map((c) => c.values);
      expect(one.every((c) => Array.from(c[0] as Int32Array).every((x) => x === 0))).toBe(true);
      expect(flat(one.map((c) => c.slice(1)))).toEqual(flat(plain));
      // With 4 days of 2500 rows each, day 0 is the same 2500 rows again.
      const four = [...generateSynthetic({ rows: 10_000, seed: 9, truth, days: 4, chunkSize: 1000 }).chunks()].map((c) => c.values);
      const day0 = four.filter((c) => (c[0] as Int32Array)[0] === 0).map((c) => c.slice(1));
      expect(flat(day0)).toEqual(flat(plain));
    }
  });

  it('is deterministic, and day d depends on the seeds and d only (fewer days are a prefix of more)', () => {
    const a = [...generateSynthetic({ rows: 6000, seed: 3, worldSeed: 8, days: 3, sizes, truth: true }).chunks()];
    const b = [...generateSynthetic({ rows: 6000, seed: 3, worldSeed: 8, days: 3, sizes, truth: true }).chunks()];
    expect(a).toEqual(b);
    const longer = [...generateSynthetic({ rows: 10_000, seed: 3, worldSeed: 8, days: 5, sizes, truth: true }).chunks()];
    expect(longer.slice(0, a.length)).toEqual(a);
    const otherSeed = [...generateSynthetic({ rows: 6000, seed: 4, worldSeed: 8, days: 3, sizes }).chunks()];
    expect(otherSeed[0]!.values[2]).not.toEqual(a[0]!.values[2]);
  });

  it('brings new ids each day (never reused), fades old ones, and keeps the truth calibrated per day', () => {
    const days = 14;
    const perDay = 4000;
    const { col } = byName(generateSynthetic({ rows: days * perDay, seed: 2, worldSeed: 6, days, sizes, truth: true }));
    const [day, item, user, click, buy, pctr, pctcvr] = ['day', 'item_id', 'user_id', 'click', 'buy', 'true_pctr', 'true_pctcvr'].map(col);
    const seen = new Set<number>();
    const day0 = new Set<number>();
    const knownFromDay0: number[] = [];
    let maxBefore = 0;
    for (let d = 0; d < days; d++) {
      const rows = day!.flatMap((x, i) => (x === d ? [i] : []));
      const items = rows.map((i) => item![i]!);
      const fresh = new Set(items.filter((x) => !seen.has(x)));
      if (d === 0) {
        items.forEach((x) => day0.add(x));
        // Day 0 is the world of the world seed: its ids are within its sizes.
        expect(Math.max(...items)).toBeLessThanOrEqual(sizes.items);
        expect(Math.max(...rows.map((i) => user![i]!))).toBeLessThanOrEqual(sizes.users);
      } else {
        // New ids appear every day; some of them were born that day, above every id seen before (ids are not reused).
        expect(fresh.size).toBeGreaterThan(0);
        expect(Math.max(...items)).toBeGreaterThan(maxBefore);
        expect([...fresh].some((x) => x > maxBefore)).toBe(true);
      }
      items.forEach((x) => seen.add(x));
      maxBefore = Math.max(maxBefore, ...items);
      knownFromDay0.push(items.filter((x) => day0.has(x)).length / items.length);
      // The truth is the day's world's: the day's clicks and purchases match the sums of true pCTR and pCTCVR within sampling noise (4 σ).
      for (const [label, truth] of [[click!, pctr!], [buy!, pctcvr!]] as const) {
        const p = rows.map((i) => truth[i]!);
        const positives = rows.reduce((s, i) => s + label[i]!, 0);
        const sd = Math.sqrt(p.reduce((s, x) => s + x * (1 - x), 0));
        expect(Math.abs(positives - p.reduce((s, x) => s + x, 0))).toBeLessThan(4 * sd);
      }
    }
    // The share of a day's impressions on items seen on day 0 falls as the world moves on.
    expect(knownFromDay0[0]).toBe(1);
    expect(knownFromDay0[1]!).toBeLessThan(0.9);
    expect(knownFromDay0[13]!).toBeLessThan(knownFromDay0[1]! - 0.2);
    expect(knownFromDay0.slice(7).reduce((s, x) => s + x, 0) / 7).toBeLessThan(knownFromDay0.slice(1, 7).reduce((s, x) => s + x, 0) / 6);
  });
});
