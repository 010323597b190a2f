import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { auc } from './auc.js';
import { evaluateEsm2, type Esm2EvalInput } from './evaluate-esm2.js';
import { gauc } from './gauc.js';
import { logloss } from './logloss.js';
import { pcoc } from './pcoc.js';


/** Samples the ESM2 funnel from known towers y1..y4; predictions = truth with noise. */
function synthetic(seed: number, n: number) {
  const rand = mulberry32(seed);
  const cols = () => new Float64Array(n);
  const truth = { pctr: cols(), pctavr: cols(), pcvr: cols(), pctcvr: cols() };
  const pred = { pctr: cols(), pctavr: cols(), pcvr: cols(), pctcvr: cols() };
  const click = new Uint8Array(n);
  const daction = new Uint8Array(n);
  const buy = new Uint8Array(n);
  const userId: string[] = [];
  const noisy = (p: number) => Math.min(1, p * Math.exp(rand() - 0.5));
  for (let i = 0; i < n; i++) {
    const y1 = rand() * 0.4;
    const y2 = rand() * 0.6;
    const y3 = 0.2 + rand() * 0.6;
    const y4 = rand() * 0.1;
    const cvr = y2 * y3 + (1 - y2) * y4;
    truth.pctr[i] = y1;
    truth.pctavr[i] = y1 * y2;
    truth.pcvr[i] = cvr;
    truth.pctcvr[i] = y1 * cvr;
    for (const k of ['pctr', 'pctavr', 'pcvr', 'pctcvr'] as const) pred[k][i] = noisy(truth[k][i]!);
    click[i] = rand() < y1 ? 1 : 0;
    daction[i] = click[i] && rand() < y2 ? 1 : 0;
    buy[i] = click[i] && rand() < (daction[i] ? y3 : y4) ? 1 : 0;
    userId.push(`u${Math.floor(rand() * 40)}`);
  }
  return { ...pred, click, daction, buy, userId, truth } satisfies Esm2EvalInput;
}

describe('evaluateEsm2', () => {
  it('computes CVR metrics on clicked rows only', () => {
    // Clicked rows: pos {0.6, 0.45} vs neg {0.4, 0.5} -> 0.6 wins 2, 0.45 wins 1 -> 3/4.
    // Counting the two unclicked rows (0.9, 0.95) as negatives would give 3/8.
    const click = [1, 1, 1, 1, 0, 0];
    const daction = [1, 0, 0, 0, 0, 0];
    const buy = [1, 0, 1, 0, 0, 0];
    const pcvr = Float32Array.from([0.6, 0.4, 0.45, 0.5, 0.9, 0.95]);
    expect(auc(pcvr, buy)).toBe(3 / 8); // the wrong convention really differs here

    const m = evaluateEsm2({ pcvr, click, daction, buy });
    expect(m.cvr_auc).toBe(0.75);
    expect(m.positives.cvr).toBe(2);
    // PCOC: mean of clicked pcvr (0.6 + 0.4 + 0.45 + 0.5) / 4 over observed 2/4.
    expect(m.pcoc.cvr).toBeCloseTo(1.95 / 2, 6);
    expect(m.logloss.cvr).toBeCloseTo(
      -(Math.log(pcvr[0]!) + Math.log1p(-pcvr[1]!) + Math.log(pcvr[2]!) + Math.log1p(-pcvr[3]!)) / 4,
      12,
    );
    // Top-1 of the 4 clicked rows is 0.6 (a buyer); over all rows it would be 0.95 (not one).
    expect(m.precision_at?.cvr).toEqual({ '0.1%': 1, '0.6%': 1, '1%': 1 });
    expect(m.recall_at?.cvr).toEqual({ '0.1%': 0.5, '0.6%': 0.5, '1%': 0.5 });
  });

  it('omits keys for predictions the model does not produce (DNN-CVR)', () => {
    const m = evaluateEsm2({ pcvr: [0.2, 0.7, 0.1], click: [1, 1, 0], daction: [0, 1, 0], buy: [0, 1, 0] });
    expect(Object.keys(m).sort()).toEqual(
      ['buys', 'clicks', 'cvr_auc', 'dactions', 'f1_at', 'logloss', 'pcoc', 'positives', 'precision_at', 'recall_at', 'rows'].sort(),
    );
    expect(Object.keys(m.logloss)).toEqual(['cvr']);
    expect(Object.keys(m.f1_at!)).toEqual(['cvr']);
    expect(m).toMatchObject({ rows: 3, clicks: 2, dactions: 1, buys: 1, cvr_auc: 1 });
    expect(m.positives).toEqual({ ctr: 2, ctavr: 1, cvr: 1, ctcvr: 1 });
  });

  it('uses the ESM2 label and row conventions for every task, plus oracle AUCs', () => {
    const d = synthetic(3, 20_000);
    const m = evaluateEsm2(d);
    const c = d.click;
    const ca = c.map((v, i) => v & d.daction[i]!);
    const cb = c.map((v, i) => v & d.buy[i]!);
    expect(m.rows).toBe(20_000);
    expect(m.buys).toBeGreaterThan(100);
    expect(m.ctr_auc).toBe(auc(d.pctr, c));
    expect(m.ctavr_auc).toBe(auc(d.pctavr, ca));
    expect(m.cvr_auc).toBe(auc(d.pcvr, d.buy, c));
    expect(m.ctcvr_auc).toBe(auc(d.pctcvr, cb));
    expect(m.cvr_gauc).toBe(gauc(d.pcvr, d.buy, d.userId, c).gauc);
    expect(m.ctcvr_gauc).toBe(gauc(d.pctcvr, cb, d.userId).gauc);
    expect(m.logloss.ctavr).toBe(logloss(d.pctavr, ca));
    expect(m.pcoc.cvr).toBe(pcoc(d.pcvr, d.buy, c));
    expect(m.oracle).toEqual({
      ctr_auc: auc(d.truth.pctr, c),
      ctavr_auc: auc(d.truth.pctavr, ca),
      cvr_auc: auc(d.truth.pcvr, d.buy, c),
      ctcvr_auc: auc(d.truth.pctcvr, cb),
    });
    // Noise only hurts: the truth ranks better than the noisy predictions.
    expect(m.oracle!.ctcvr_auc!).toBeGreaterThan(m.ctcvr_auc!);
    expect(m.positives).toEqual({ ctr: m.clicks, ctavr: m.dactions, cvr: m.buys, ctcvr: m.buys });
    expect(Object.keys(m.f1_at!.ctcvr!)).toEqual(['0.1%', '0.6%', '1%']);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('rejects length mismatch, NaN predictions and broken funnels', () => {
    const base = { click: [1, 0], daction: [0, 0], buy: [1, 0] };
    expect(() => evaluateEsm2({ ...base, pctr: [0.1] })).toThrow(/length mismatch: pctr has length 1/);
    expect(() => evaluateEsm2({ ...base, truth: { pcvr: [0.1, 0.2, 0.3] } })).toThrow(/truth.pcvr has length 3/);
    expect(() => evaluateEsm2({ ...base, pctr: [0.1, NaN] })).toThrow(/scores\[1\] is NaN/);
    expect(() => evaluateEsm2({ click: [0, 1], daction: [0, 0], buy: [1, 0] })).toThrow(/row 0 .* without a click/);
  });
});
