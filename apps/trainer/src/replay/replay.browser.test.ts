import { checkReport, chromiumRequired, launchChromium } from '@esm2/report/testing';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayMode } from './options.js';
import { runReplay } from './run.js';
import { writeDayLog } from './test-log.js';

/**
 * replay's report.html, made from a small real replay and looked at in
 * headless Chromium at 1200 px like the eval and compare pages: it fits
 * the window, every chart is drawn with a legend in which each mode has a
 * colour of its own, and the per-day table shows replay.json's figures.
 */

const chromium = chromiumRequired();
let dir: string;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-replay-browser-'));
  await writeDayLog(join(dir, 'log.csv'), { days: 4, rows: 300, seed: 3 });
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.runIf(chromium.run)('replay report.html at 1200 px in headless Chromium', () => {
  beforeAll(chromium.check);
  it('fits the window, draws every chart with each mode in its own colour, and shows replay.json\'s figures', async () => {
    const modes: ReplayMode[] = ['incremental', 'retrain', 'frozen'];
    const out = join(dir, 'replay');
    const file = await runReplay({ data: join(dir, 'log.csv'), by: 'day', fromDay: 1, modes, window: 2, out, model: 'esm2', epochs: 1, batchSize: 64, towers: [4], embeddingDim: 2 });
    const page = join(out, 'report.html');
    browser ??= await launchChromium();
    // What every report page must do (as the eval and compare pages): checkReport.
    const opened = await checkReport(browser, page);
    expect(opened.problems).toEqual([]);
    const { layout } = opened;

    // Per-day AUC and PCOC lines for CTR, CVR and CTCVR, training time and known ids: every one drawn, with a legend.
    const titles = layout.charts.map((c) => c.title);
    expect(titles).toEqual([
      'CTR AUC by day',
      'CVR AUC by day',
      'CTCVR AUC by day',
      'CTR PCOC by day',
      'CVR PCOC by day',
      'CTCVR PCOC by day',
      'Training seconds by day',
      'Known ids by day',
    ]);
    for (const c of layout.charts) {
      expect(c.kind).toBe('days');
      expect(c.markColours.length, `${c.title} draws lines`).toBeGreaterThan(0);
      const labels = c.legend.map((l) => l.label);
      // Every chart shows the modes drawn in it; training time leaves out frozen (never trained day by day).
      const expected = c.title.startsWith('Training') ? modes.filter((m) => m !== 'frozen') : modes;
      expect(labels.slice(0, expected.length), c.title).toEqual(expected);
    }
    // One mode, one colour, on every chart.
    const colourOf = new Map<string, string>();
    for (const c of layout.charts) {
      for (const l of c.legend) {
        expect(colourOf.get(l.label) ?? l.colour, `${l.label} in ${c.title}`).toBe(l.colour);
        colourOf.set(l.label, l.colour);
      }
    }

    // The per-day table: replay.json's AUCs and known-id shares, as printed.
    const rows = await opened.page.locator('section', { hasText: 'Per day' }).locator('tbody tr').all();
    const cells = await Promise.all(rows.map((r) => r.locator('td').allTextContents()));
    for (const r of file.results) {
      for (const mode of modes) {
        const m = r.modes[mode]!;
        const row = cells.find((c) => c[0] === String(r.evalDay) && c[1] === mode);
        expect(row, `day ${r.evalDay} ${mode}`).toBeDefined();
        expect(row!.slice(2, 5)).toEqual([m.metrics.ctr_auc!, m.metrics.cvr_auc!, m.metrics.ctcvr_auc!].map((x) => x.toFixed(4)));
        expect(row!.at(-1)).toBe(`${(100 * m.knownIds.both).toFixed(1)} %`);
      }
    }
    // The paired tests: incremental against retrain and frozen, per day and task, with their p.
    const diffs = await opened.page.locator('section', { hasText: 'Differences between modes' }).locator('tbody tr').all();
    expect(diffs).toHaveLength(file.results.length * 2 * 3);
    const first = await diffs[0]!.locator('td').allTextContents();
    const d0 = file.results[0]!.differences[0]!;
    expect(first.slice(0, 3)).toEqual([String(file.results[0]!.evalDay), 'incremental − retrain', 'ctr_auc']);
    expect(first[5]).toBe(Number.isFinite(d0.pValue) ? d0.pValue.toFixed(3) : '—');
    expect(await readFile(join(out, 'replay.json'), 'utf8')).toContain('"format": "esm2-replay"');
    await opened.context.close();
  });
});
