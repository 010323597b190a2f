import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml } from './escape.js';
import { distinctColours } from './charts.js';
import { formatMeanSd, renderReport, writeReport } from './html.js';
import { meanSd } from './stats.js';
import { syntheticReport } from './test-support/synthetic.js';

describe('escapeHtml', () => {
  it('turns the five special characters into entities', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
    expect(escapeHtml('plain 0.1 %')).toBe('plain 0.1 %');
  });
});

describe('meanSd / formatMeanSd', () => {
  it('gives the sample sd over the runs; an undefined run makes the figure undefined, naming the run', () => {
    expect(meanSd([1, 2, 3])).toEqual({ mean: 2, sd: 1, n: 3, missing: [] });
    // The rule comparison.md follows too (one function): a failed seed is not averaged away.
    expect(meanSd([1, 2, 3, null, NaN])).toEqual({ mean: NaN, sd: NaN, n: 3, missing: [3, 4] });
    expect(formatMeanSd([0.7, 0.8])).toBe('0.7500 ± 0.0707');
    expect(formatMeanSd([0.7])).toBe('0.7000');
    expect(formatMeanSd([0.7, null, 0.8])).toBe('n/a (undefined in run 2 of 3)');
    expect(formatMeanSd([NaN, undefined])).toBe('—');
  });
});

describe('renderReport', () => {
  const evil = '<script>alert(1)</script>"&';
  const input = () =>
    syntheticReport({
      models: [
        { name: evil, skill: 0.2 },
        { name: 'gbdt', skill: 0.1, history: false },
      ],
      seeds: [1, 2],
      rows: 1500,
    });

  it('does not let a model name inject markup, in the tables or the SVG charts', async () => {
    const { html, charts } = await renderReport({ ...input(), title: '<b>x</b>', notes: ['<img src=x onerror=alert(1)>'] });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;');
    expect(html).toContain('<title>&lt;b&gt;x&lt;/b&gt;</title>');
    // The legends of the overlaid charts name the model, escaped by the SVG writer.
    const roc = charts.find((c) => c.kind === 'roc')!;
    expect(roc.svg).toContain('&lt;script&gt;');
    expect(roc.svg).not.toContain('<script');
  });

  it('has one chart per task for ROC and calibration, training for models with a history, top-k for CVR and CTCVR', async () => {
    const given = input();
    const pos = given.models[0]!.runs[0]!.metrics.positives;
    expect(pos.cvr).toBeLessThan(100);
    const { html, charts } = await renderReport(given);
    expect(charts.map((c) => `${c.kind}: ${c.title}`)).toEqual([
      `roc: ROC — CTR (${pos.ctr} positives)`,
      `roc: ROC — CTAVR (${pos.ctavr} positives)`,
      `roc: ROC — CVR (${pos.cvr} positives)`,
      `roc: ROC — CTCVR (${pos.ctcvr} positives)`,
      `calibration: Calibration — CTR (${pos.ctr} positives)`,
      `calibration: Calibration — CTAVR (${pos.ctavr} positives)`,
      `calibration: Calibration — CVR (${pos.cvr} positives)`,
      `calibration: Calibration — CTCVR (${pos.ctcvr} positives)`,
      `training: Training — ${evil}`,
      `topk: Top-k — CVR (${pos.cvr} positives)`,
      `topk: Top-k — CTCVR (${pos.ctcvr} positives)`,
    ]);
    expect(html.match(/<svg/g)).toHaveLength(charts.length);
    // No network at view time: no URL is referenced except SVG's namespace names.
    const urls = html.match(/(?:https?:)?\/\/[^\s"'<>)]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
    // Few positives are called out in words.
    expect(html).toContain(`CVR rests on only ${pos.cvr} test positives`);
    // Mean ± sd over the two seeds, with the positives in the header.
    expect(html).toContain(`CVR AUC <small>(${pos.cvr} positives)</small>`);
    // The sd may go under the mean (narrow columns), never a figure broken in two.
    expect(html).toMatch(/<td><span class="nb">0\.\d{4}<\/span> <span class="sd">± 0\.\d{4}<\/span><\/td>/);
    expect(html).toContain('Mean ± sample sd over each model&#39;s runs (seeds)');
  });

  it('rejects empty or ambiguous input, naming the model', async () => {
    const base = input();
    await expect(renderReport({ ...base, models: [] })).rejects.toThrow('no models given');
    await expect(renderReport({ ...base, models: [{ name: 'x', runs: [] }] })).rejects.toThrow('model "x" has no runs');
    await expect(renderReport({ ...base, models: [base.models[1]!, base.models[1]!] })).rejects.toThrow('model "gbdt" is given twice');
  });
});

describe('differences table', () => {
  it('reads each interval: significant either way, not significant, too few positives', async () => {
    const base = syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }, { name: 'esmm', skill: 0.1 }], seeds: [1], rows: 1500 });
    const pos = base.models[0]!.runs[0]!.metrics.positives;
    expect(pos.ctr).toBeGreaterThanOrEqual(100);
    const { html } = await renderReport({
      ...base,
      differences: [
        { model: 'esm2', baseline: 'esmm', metric: 'ctr_auc', mean: 0.02, ci95: [0.01, 0.03], method: 'bootstrap over test rows' },
        { model: 'esm2', baseline: 'esmm', metric: 'ctr_auc', mean: -0.02, ci95: [-0.03, -0.01] },
        { model: 'esm2', baseline: 'esmm', metric: 'ctr_auc', mean: 0.01, ci95: [-0.01, 0.03] },
        { model: 'esm2', baseline: '<i>x</i>', metric: 'cvr_auc', mean: 0.05, ci95: [0.01, 0.09], positives: 25 },
      ],
    });
    const rows = html.split('Differences to the baselines')[1]!.split('</table>')[0]!.split('<tr>').slice(2);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toContain('<td>+0.0200</td><td>[+0.0100, +0.0300]</td><td>—</td>');
    expect(rows[0]).toContain(`<td>${pos.ctr}</td><td class="text">bootstrap over test rows</td><td class="text">significant: esm2 better</td>`);
    expect(rows[1]).toContain('significant: esm2 worse');
    expect(rows[2]).toContain('not significant (the interval contains 0)');
    expect(rows[3]).toContain('<td class="text">&lt;i&gt;x&lt;/i&gt;</td>');
    expect(rows[3]).toContain('too few positives (25) to mean anything; significant: esm2 better');
  });
});

describe('differences table with the p and reading of the caller (compare: comparison.md\'s words)', () => {
  it('shows p with 3 decimals as comparison.md does, and the reading as given', async () => {
    const base = syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }, { name: 'esmm', skill: 0.1 }], seeds: [1], rows: 1500 });
    const { html } = await renderReport({
      ...base,
      differences: [
        { model: 'esm2', baseline: 'esmm', metric: 'ctr_auc', mean: 0.02, ci95: [0.01, 0.03], pValue: 0.00049, method: 'DeLong', reading: 'ESM2 better' },
        { model: 'esm2', baseline: 'esmm', metric: 'cvr_gauc', mean: 0.01, ci95: [NaN, NaN], pValue: NaN, reading: '1 user with both a positive and a negative test row' },
      ],
    });
    const table = html.split('Differences to the baselines')[1]!.split('</table>')[0]!;
    expect(table).toContain('<th>p</th>');
    const rows = table.split('<tr>').slice(2);
    expect(rows[0]).toContain('<td>[+0.0100, +0.0300]</td><td>0.000</td>');
    expect(rows[0]).toContain('<td class="text">ESM2 better</td>');
    expect(rows[1]).toContain('<td>[—, —]</td><td>—</td>');
    expect(rows[1]).toContain('<td class="text">1 user with both a positive and a negative test row</td>');
  });
});

describe('one evaluation (eval --report)', () => {
  it('is not called a mean over seeds, and its top-k axis is the value', async () => {
    const input = syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }], seeds: [7], rows: 1500 });
    const { html, charts } = await renderReport(input);
    expect(html).not.toContain('Mean ± sample sd');
    expect(html).toContain('One evaluation of one trained model (seed 7): each figure is that run&#39;s.');
    const topk = charts.filter((c) => c.kind === 'topk');
    expect(topk).toHaveLength(2);
    for (const c of topk) {
      expect(c.axes).toEqual(['Top-k cut', 'Value']);
      expect(c.svg).not.toContain('Mean over seeds');
    }
  });

  it('shows the oracle AUCs (true probabilities) when the metrics have them, as eval prints them', async () => {
    const input = syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }], seeds: [1], rows: 1500 });
    const metrics = input.models[0]!.runs[0]!.metrics;
    metrics.oracle = { ctr_auc: 0.81234, ctavr_auc: 0.9, cvr_auc: 0.7, ctcvr_auc: 0.85 };
    const { html } = await renderReport(input);
    const ranking = html.split('Ranking: AUC and GAUC')[1]!.split('</table>')[0]!;
    const oracle = ranking.split('<tr>').find((r) => r.includes('oracle'))!;
    expect(oracle).toContain('<td class="text">oracle (the true probabilities)</td><td>—</td><td><span class="nb">0.8123</span></td>');
    expect(oracle).toContain('0.7000');
    expect(html).toContain('the oracle row is the AUC of the true probabilities');
    delete metrics.oracle;
    expect((await renderReport(input)).html).not.toContain('oracle');
  });

  it('an all-zero top-k chart keeps a 0–1 axis (no "0.000000" tick) and says every value is 0', async () => {
    // Scores that rank every positive last: no positive in any top-k cut.
    const input = syntheticReport({ models: [{ name: 'esm2', skill: -0.95 }], seeds: [1], rows: 1500 });
    const pAt = input.models[0]!.runs[0]!.metrics.precision_at!;
    expect(Object.values(pAt.cvr!).every((v) => v === 0)).toBe(true);
    const { charts } = await renderReport(input);
    const topk = charts.find((c) => c.kind === 'topk' && c.title.startsWith('Top-k — CVR'))!;
    expect(topk.svg).toContain('Every value is 0: no positive among the top-k rows at any cut');
    expect(topk.svg).not.toContain('0.000000');
    for (const tick of ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']) expect(topk.svg).toContain(`>${tick}</text>`);
  });
});

describe('distinctColours', () => {
  it('gives n different colours for any n (vega\'s palettes repeat after 10)', () => {
    for (const n of [1, 10, 11, 14, 20, 21, 40]) expect(new Set(distinctColours(n)).size).toBe(n);
    expect(distinctColours(3)).toEqual(['#4c78a8', '#f58518', '#e45756']);
  });
});

describe('writeReport', () => {
  it('writes the page atomically, creating the directory, leaving nothing else behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-report-'));
    const file = join(dir, 'out', 'report.html');
    const { html } = await writeReport(file, syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }], seeds: [1], rows: 800 }));
    expect(await readFile(file, 'utf8')).toBe(html);
    expect(await readdir(join(dir, 'out'))).toEqual(['report.html']);
    expect(html).toContain('<title>ESM2 evaluation: esm2</title>');
  });
});
