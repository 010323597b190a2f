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
