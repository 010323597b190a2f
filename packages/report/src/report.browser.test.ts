import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from './html.js';
import { syntheticReport } from './test-support/synthetic.js';

/** The part of the DOM's Element the page function uses (the package compiles without the DOM library). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): { width: number };
}

// Debian's chromium (apt-get install chromium; .ci/run installs it), never a downloaded one.
// ESM2_CHROMIUM points elsewhere (e.g. to a missing path, to see the CI=true failure).
const CHROMIUM = process.env.ESM2_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI !== 'true') {
  console.warn(`report.browser.test: skipped — ${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium); under CI=true this fails instead`);
}

describe.skipIf(!available && process.env.CI !== 'true')('report.html in headless Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('loads from file:// with no other request and no error, shows every chart with its axis titles, and screenshots', async () => {
    // Checked here, not in a hook, so that under CI=true the test itself counts as failed.
    if (!available) throw new Error(`CI=true and ${CHROMIUM} is missing: install Debian's chromium (apt-get install -y --no-install-recommends chromium)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const dir = await mkdtemp(join(tmpdir(), 'esm2-report-browser-'));
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

    const url = pathToFileURL(file).href;
    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    const errors: string[] = [];
    await context.route('**/*', async (route) => {
      if (route.request().url() === url) return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    page.on('request', (r) => {
      if (r.url() !== url) outside.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page: ${err.message}`));

    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.ok() ?? true).toBe(true);

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
});
