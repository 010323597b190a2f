import { evaluateEsm2, mulberry32 } from '@esm2/core';
import { esm2Curves } from '../curves.js';
import type { HistoryEpoch, ReportInput, ReportModel } from '../types.js';

/**
 * A small synthetic comparison: `rows` impressions with funnel labels, and
 * per model and seed predictions that see the labels through noise (`skill`
 * sets how much), evaluated by core's evaluateEsm2 with curves from
 * esm2Curves and a made-up history of `epochs` epochs.
 */
export function syntheticReport(options: { models: { name: string; skill: number; history?: boolean }[]; seeds: number[]; rows?: number; epochs?: number }): ReportInput {
  const n = options.rows ?? 4000;
  const rand = mulberry32(7);
  const click = new Uint8Array(n);
  const daction = new Uint8Array(n);
  const buy = new Uint8Array(n);
  const userId = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    click[i] = rand() < 0.2 ? 1 : 0;
    daction[i] = click[i] && rand() < 0.3 ? 1 : 0;
    buy[i] = click[i] && rand() < (daction[i] ? 0.4 : 0.1) ? 1 : 0;
    userId[i] = Math.floor(rand() * 200);
  }
  const models: ReportModel[] = options.models.map(({ name, skill, history }) => ({
    name,
    runs: options.seeds.map((seed) => {
      const r = mulberry32(seed * 1000 + name.length);
      const p = (y: number, base: number) => Math.min(0.999, Math.max(0.001, base * (1 + skill * (2 * y - 1)) * (0.5 + r())));
      const pctr = Float64Array.from(click, (c) => p(c, 0.2));
      const pctavr = Float64Array.from(daction, (a, i) => p(a & click[i]!, 0.06));
      const pcvr = Float64Array.from(buy, (b) => p(b, 0.15));
      const pctcvr = Float64Array.from(pctr, (c, i) => c * pcvr[i]!);
      const input = { click, daction, buy, userId, pctr, pctavr, pcvr, pctcvr };
      const curves = esm2Curves(input);
      const epochs: HistoryEpoch[] = [];
      for (let e = 1; e <= (history === false ? 0 : (options.epochs ?? 3)); e++) {
        epochs.push({
          epoch: e,
          train_loss: 0.5 / e + r() * 0.01,
          // What fit records for ESM2: 4 training losses, 4 validation loglosses, 4 AUCs and 2 GAUCs — 14 series.
          train_losses: { loss: 0.5 / e, loss_ctr: 0.3 / e, loss_ctavr: 0.12 / e, loss_ctcvr: 0.2 / e },
          seconds: 1,
          samples_per_s: 1000,
          logloss: { ctr: 0.45 / e + 0.05, ctavr: 0.2 / e + 0.04, cvr: 0.3 / e + 0.1, ctcvr: 0.1 / e + 0.02 },
          ctr_auc: 0.6 + 0.03 * e * skill,
          ctavr_auc: 0.58 + 0.03 * e * skill,
          cvr_auc: 0.61 + 0.025 * e * skill,
          ctcvr_auc: 0.62 + 0.02 * e * skill,
          cvr_gauc: 0.57 + 0.02 * e * skill,
          ctcvr_gauc: 0.59 + 0.02 * e * skill,
        });
      }
      return { seed, metrics: evaluateEsm2(input), ...curves, ...(history === false ? {} : { history: epochs }) };
    }),
  }));
  return { data: { rows: n, clicks: count(click), dactions: count(daction), buys: count(buy), source: 'synthetic.csv' }, models, generatedAt: '2026-01-01T00:00:00Z' };
}

function count(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}
