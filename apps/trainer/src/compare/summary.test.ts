import { gauc, mulberry32, type Esm2Metrics } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import type { SavedScores } from './scores.js';
import { buildComparison, formatComparisonMarkdown, significance, SIGNIFICANCE_RULE, type TestScores } from './summary.js';

/**
 * 4000 test rows of 200 users; model "good" ranks each user's purchases
 * higher than model "poor" does, so ESM2 (good) − poor is positive on
 * CTCVR GAUC and the user bootstrap must say so.
 */
function world() {
  const rand = mulberry32(5);
  const n = 4000;
  const users = new Uint32Array(n);
  const click = new Float32Array(n);
  const buy = new Float32Array(n);
  const good = new Float32Array(n);
  const poor = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    users[i] = i % 200;
    click[i] = rand() < 0.3 ? 1 : 0;
    buy[i] = click[i] === 1 && rand() < 0.3 ? 1 : 0;
    good[i] = Math.min(0.99, 0.1 + 0.5 * buy[i]! * rand() + 0.4 * rand());
    poor[i] = Math.min(0.99, 0.1 + 0.1 * buy[i]! * rand() + 0.8 * rand());
  }
  return { n, users, click, buy, good, poor };
}

const metricsOf = (w: ReturnType<typeof world>, p: Float32Array): Esm2Metrics =>
  ({
    rows: w.n,
    clicks: 0,
    dactions: 0,
    buys: 0,
    cvr_auc: NaN,
    ctcvr_auc: NaN,
    cvr_gauc: gauc(p, w.buy, w.users, w.click).gauc,
    ctcvr_gauc: gauc(p, w.buy, w.users).gauc,
  }) as unknown as Esm2Metrics;

describe('buildComparison: GAUC differences on test rows', () => {
  const w = world();
  const scores = (p: Float32Array): SavedScores => ({ pctr: new Float32Array(w.n).fill(NaN), pcvr: p, pctcvr: p });
  const saved: TestScores = {
    labels: () => Promise.resolve({ click: w.click, buy: w.buy }),
    users: () => Promise.resolve(w.users),
    scores: (model) => Promise.resolve(scores(model === 'esm2' ? w.good : w.poor)),
  };

  it('with one seed, the interval is the paired bootstrap over test users around the GAUC difference core computes', async () => {
    const c = await buildComparison({ esm2: [{ seed: 1, metrics: metricsOf(w, w.good) }], poor: [{ seed: 1, metrics: metricsOf(w, w.poor) }] }, 'esm2', saved, { gaucResamples: 150 });
    for (const [metric, mask] of [['cvr_gauc', w.click], ['ctcvr_gauc', undefined]] as const) {
      const d = c.differences.find((x) => x.metric === metric)!;
      const want = gauc(w.good, w.buy, w.users, mask).gauc - gauc(w.poor, w.buy, w.users, mask).gauc;
      expect(d.method).toBe('bootstrap');
      expect(d.bootstrap).toMatchObject({ seed: 1, resamples: 150, users: gauc(w.good, w.buy, w.users, mask).users });
      expect(d.bootstrap!.difference).toBeCloseTo(want, 10);
      expect(d.ci95).toEqual(d.bootstrap!.ci95);
      // A clear difference: the interval is above zero, brackets the estimate, and p is small.
      expect(want).toBeGreaterThan(0.1);
      expect(d.ci95[0]).toBeGreaterThan(0);
      expect(d.ci95[0]).toBeLessThan(want);
      expect(d.ci95[1]).toBeGreaterThan(want);
      expect(d.pValue).toBeLessThan(0.01);
    }
  });

  it('with two seeds, the seed interval stays the entry\'s own and the bootstrap rides along; 0 resamples turn it off', async () => {
    const runs = (p: Float32Array) => [1, 2].map((seed) => ({ seed, metrics: { ...metricsOf(w, p), ctcvr_gauc: metricsOf(w, p).ctcvr_gauc! + seed * 0.001 } }));
    const c = await buildComparison({ esm2: runs(w.good), poor: runs(w.poor) }, 'esm2', saved, { gaucResamples: 50 });
    const d = c.differences.find((x) => x.metric === 'ctcvr_gauc')!;
    expect(d.method).toBe('seeds-t');
    expect(d.bootstrap?.resamples).toBe(50);
    const off = await buildComparison({ esm2: runs(w.good), poor: runs(w.poor) }, 'esm2', saved, { gaucResamples: 0 });
    expect(off.differences.find((x) => x.metric === 'ctcvr_gauc')!.bootstrap).toBeUndefined();
  });
});

/**
 * Two models close on CTCVR GAUC (A a little better on purchases), 1500 rows
 * of 100 users; `s` picks the draw. With s = 47 the bootstrap's percentile
 * interval spans 0 while the normal approximation p it used to show was
 * 0.034 ("p 0.034", "not significant" side by side); with s = 21 the interval
 * is clear of 0 while that p was 0.059.
 */
function close(s: number) {
  const rand = mulberry32(s);
  const n = 1500;
  const users = new Uint32Array(n);
  const click = new Float32Array(n);
  const buy = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    users[i] = i % 100;
    click[i] = rand() < 0.3 ? 1 : 0;
    buy[i] = click[i] === 1 && rand() < 0.3 ? 1 : 0;
    const base = rand();
    a[i] = Math.min(0.99, 0.05 + 0.9 * (0.8 * base + 0.2 * rand()) + 0.03 * buy[i]!);
    b[i] = Math.min(0.99, 0.05 + 0.9 * (0.8 * base + 0.2 * rand()));
  }
  return { n, users, click, buy, good: a, poor: b };
}

describe('significance: one rule, the interval decides and the p shown is from the same test', () => {
  it('reads an interval', () => {
    expect(significance([0.001, 0.02])).toBe('ESM2 better');
    expect(significance([-0.02, -0.001])).toBe('ESM2 worse');
    expect(significance([-0.001, 0.02])).toBe('not significant');
    expect(significance([NaN, NaN])).toBeUndefined();
  });

  it('the bootstrap p agrees with its interval where the old normal p did not, and comparison.md states the rule once', async () => {
    for (const [s, word] of [[47, 'not significant'], [21, 'ESM2 better']] as const) {
      const w = close(s);
      const saved: TestScores = {
        labels: () => Promise.resolve({ click: w.click, buy: w.buy }),
        users: () => Promise.resolve(w.users),
        scores: (model) => Promise.resolve({ pctr: new Float32Array(w.n).fill(NaN), pcvr: model === 'esm2' ? w.good : w.poor, pctcvr: model === 'esm2' ? w.good : w.poor }),
      };
      const c = await buildComparison({ esm2: [{ seed: 1, metrics: metricsOf(w, w.good) }], poor: [{ seed: 1, metrics: metricsOf(w, w.poor) }] }, 'esm2', saved, { gaucResamples: 200 });
      const d = c.differences.find((x) => x.metric === 'ctcvr_gauc')!;
      expect(d.method).toBe('bootstrap');
      expect(significance(d.ci95)).toBe(word);
      expect(d.pValue < 0.05, `seed ${s}: p ${d.pValue}, interval ${d.ci95.join(', ')}`).toBe(word !== 'not significant');
      const md = formatComparisonMarkdown(c);
      expect(md.split(SIGNIFICANCE_RULE)).toHaveLength(2);
      const row = md.split('\n').find((l) => l.startsWith('| poor | ctcvr_gauc |'))!;
      expect(row).toContain(`| ${word} |`);
      expect(row).toContain(`| ${d.pValue.toFixed(3)} |`);
    }
  });
});
