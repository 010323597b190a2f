import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctColours } from './charts.js';
import { writeReport } from './html.js';
import { syntheticReport } from './test-support/synthetic.js';
import { checkReport, chromiumRequired, colourClashes, launchChromium, openReport, overflows, pageLayout, PAGE_WIDTH } from './testing.js';
import type { ReportInput } from './types.js';

/** The part of the DOM's Element the page function uses (the package compiles without the DOM library). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): { width: number };
}

const chromiumHere = chromiumRequired();

describe.runIf(chromiumHere.run)('report.html in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir: string;
  beforeAll(chromiumHere.check);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'esm2-report-browser-'));
  });
  afterAll(async () => {
    await browser?.close();
  });
  // Launched inside the tests, not in a hook, so that under CI=true a missing Chromium fails the test itself.
  const chromium = async () => (browser ??= await launchChromium());

  it('loads from file:// with no other request and no error, shows every chart with its axis titles, and screenshots', async () => {
    const file = join(dir, 'report.html');
    const input = syntheticReport({
      models: [
        { name: 'esm2', skill: 0.25 },
        { name: 'esmm', skill: 0.15 },
      ],
      seeds: [1, 2],
    });
    input.differences = [{ model: 'esm2', baseline: 'esmm', metric: 'ctcvr_auc', mean: 0.01, ci95: [-0.01, 0.03], method: 'paired over seeds' }];
    const { charts } = await writeReport(file, input);
    // 4 ROC + 4 calibration + 2 training (one per model) + 2 top-k.
    expect(charts.map((c) => c.kind)).toEqual([...Array(4).fill('roc'), ...Array(4).fill('calibration'), 'training', 'training', 'topk', 'topk']);

    const { context, page, outside, errors } = await openReport(await chromium(), file);

    const figures = await page.$$eval('figure.chart', (found: unknown[]) =>
      (found as PageElement[]).map((el) => ({
        kind: el.getAttribute('data-kind'),
        axes: JSON.parse(el.getAttribute('data-axes') ?? '[]') as string[],
        svgs: el.querySelectorAll('svg').length,
        texts: Array.from(el.querySelectorAll('svg text'), (t) => t.textContent ?? ''),
        width: el.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    expect(figures).toHaveLength(charts.length);
    expect(await page.locator('svg').count()).toBe(charts.length);
    for (const f of figures) {
      expect(f.svgs).toBe(1);
      expect(f.width).toBeGreaterThan(100);
      expect(f.axes.length).toBeGreaterThan(0);
      for (const axis of f.axes) expect(f.texts, `${f.kind} chart: axis title "${axis}"`).toContain(axis);
      // Every model appears in the legend of the charts that overlay them.
      if (f.kind !== 'training') for (const m of ['esm2', 'esmm']) expect(f.texts).toContain(m);
    }
    expect(await page.locator('h1').textContent()).toBe('ESM2 model comparison');
    // Data, ranking, differences, logloss/PCOC, top-k CVR and CTCVR.
    expect(await page.locator('table').count()).toBe(6);

    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`report screenshot: ${shot}`);
    expect(existsSync(shot)).toBe(true);

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits a 1200 px window (no table wider than its container or the page) and gives every series of a chart its own colour', async () => {
    // The hard case: 12 models with long names, 3 seeds (mean ± sd everywhere), 14 training series per model,
    // differences with long methods and readings and their p.
    const names = ['esm2', 'esmm', 'dnn', 'dnn-os', 'gbdt', ...Array.from({ length: 7 }, (_, i) => `esm2-variant-with-a-long-name-${i + 1}`)];
    const input: ReportInput = syntheticReport({ models: names.map((name, i) => ({ name, skill: 0.3 - i * 0.02, history: name !== 'gbdt' })), seeds: [1, 2, 3], rows: 2500 });
    input.differences = names.slice(1).flatMap((baseline) => [
      { model: 'esm2', baseline, metric: 'ctcvr_gauc', mean: -0.0123, ci95: [-0.0456, 0.0211] as [number, number], pValue: 0.0493, method: 'bootstrap over test users (200 resamples, seed 1)', reading: 'not significant; too few positives to read' },
      { model: 'esm2', baseline, metric: 'cvr_auc', mean: 0.0321, ci95: [0.0101, 0.0541] as [number, number], pValue: 0.0042, method: 'paired over 3 seeds (t)' },
    ]);
    const file = join(dir, 'wide.html');
    const { charts } = await writeReport(file, input);
    const training = charts.filter((c) => c.kind === 'training');
    expect(training).toHaveLength(names.length - 1);

    // What every report page must do (the window's width, no overflow, a legend on every chart and each series in a
    // colour of its own, no request out, no error, a screenshot: checkReport), then this page's own figures.
    const { context, page, layout, problems, screenshot } = await checkReport(await chromium(), file);
    console.log(`report screenshot at ${PAGE_WIDTH} px: ${screenshot}`);
    expect(problems).toEqual([]);
    expect(layout.tables).toBe(6);
    expect(layout.boxes.filter((b) => b.what.startsWith('table'))).toHaveLength(6);

    // The training charts list 14 series and say what the dash means.
    expect(layout.charts).toHaveLength(charts.length);
    const trainingLayouts = layout.charts.filter((c) => c.kind === 'training');
    for (const c of trainingLayouts) {
      expect(c.legend).toHaveLength(14);
      // Solid for the training data, dashed for the validation data, drawn in the legend itself.
      for (const e of c.legend) expect(e.dash === 'none', `${e.label}: ${e.dash}`).toBe(e.label.startsWith('train'));
    }
    const trainingTexts = await page.$$eval('figure.chart[data-kind="training"]', (found: unknown[]) => (found as PageElement[]).map((el) => el.textContent ?? ''));
    for (const t of trainingTexts) expect(t).toContain('solid: training datadashed: validation data');
    // The overlays: 12 models, 12 colours; the same model in the same colour in every chart.
    for (const c of layout.charts.filter((x) => x.kind !== 'training')) expect(c.legend.map((e) => e.label)).toEqual(names);
    const colourOf = new Map<string, string>();
    for (const c of layout.charts.filter((x) => x.kind !== 'training')) {
      for (const e of c.legend) {
        expect(colourOf.get(e.label) ?? e.colour, `${e.label} in ${c.title}`).toBe(e.colour);
        colourOf.set(e.label, e.colour);
      }
    }

    // The differences table shows each p as comparison.md prints it, and the reading given.
    const differences = await page.locator('section', { hasText: 'Differences to the baselines' }).locator('tbody tr').allTextContents();
    expect(differences).toHaveLength(input.differences.length);
    expect(differences[0]).toContain('0.049');
    expect(differences[0]).toContain('not significant; too few positives to read');
    expect(differences[1]).toContain('0.004');
    await context.close();
  });

  it('the checks catch what they are for: a table wider than the page, two series in one colour', async () => {
    const input = syntheticReport({ models: [{ name: 'esm2', skill: 0.2 }], seeds: [1], rows: 800 });
    const file = join(dir, 'checked.html');
    const { html } = await writeReport(file, input);
    // The same page with its cells kept on one line and one training series recoloured as another.
    const { writeFile } = await import('node:fs/promises');
    const [first, second] = distinctColours(14); // the training chart's 14 series
    await writeFile(file, html.replace('</style>', 'td, th { white-space: nowrap; } table { max-width: none; }</style>').replace('<table>', `<table><tr><td>${'wide '.repeat(400)}</td></tr>`).replaceAll(second!, first!));
    const { context, page } = await openReport(await chromium(), file);
    const layout = await pageLayout(page);
    expect(overflows(layout).some((o) => o.startsWith('document: scrollWidth'))).toBe(true);
    expect(overflows(layout).some((o) => o.startsWith('table 1 (Test data)'))).toBe(false); // the table is as wide as its content
    expect(overflows(layout).some((o) => o.startsWith('<section> around table 1'))).toBe(true);
    const clashes = colourClashes(layout);
    expect(clashes.some((c) => /^training "Training — esm2": train loss, train loss_ctr share rgb/.test(c)), clashes.join('\n')).toBe(true);
    await context.close();
    // checkReport, which the apps' report tests use, says both; the page as written has nothing to say.
    const checked = await checkReport(await chromium(), file);
    expect(checked.problems).toEqual([...overflows(checked.layout), ...colourClashes(checked.layout)]);
    expect(checked.problems.length).toBeGreaterThan(1);
    await checked.context.close();
    await writeFile(file, html);
    const clean = await checkReport(await chromium(), file);
    expect(clean.problems).toEqual([]);
    await clean.context.close();
  });
});
