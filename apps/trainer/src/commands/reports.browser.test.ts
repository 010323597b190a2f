import { writeSynthetic } from '@esm2/data';
import { checkReport, chromiumRequired, launchChromium, PAGE_WIDTH } from '@esm2/report/testing';
import { Command } from 'commander';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reportDifferences } from '../compare/report.js';
import { runCompare } from '../compare/run.js';
import { parseModels } from '../compare/spec.js';
import { differenceReading } from '../compare/summary.js';
import { fit } from '../index.js';
import { registerEvalCommand } from './eval.js';

/**
 * The two report pages a user gets — `eval --report` and `compare`'s
 * report.html — made from small real runs and looked at in headless
 * Chromium at 1200 px: no table wider than its container or the page,
 * every series of every chart in a colour of its own, and the figures
 * the CLI prints (oracle AUCs, p-values, readings) on the page.
 */

let dir: string;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

/**
 * Synthetic rows with the generator's true probabilities (true_p* columns,
 * so eval reports oracle AUCs) and hand-set labels, so every task has both
 * classes: a click every third row, a DAction every ninth, a purchase on
 * every even clicked row.
 */
async function labelledFile(path: string, rows: number, seed: number): Promise<void> {
  await writeSynthetic(path, { rows, seed, worldSeed: 5, truth: true });
  const [header, ...lines] = (await readFile(path, 'utf8')).trimEnd().split('\n');
  const names = header!.split(',');
  const [c, d, b] = ['click', 'daction', 'buy'].map((n) => names.indexOf(n));
  expect(names).toContain('true_pctcvr');
  const relabelled = lines.map((line, i) => {
    const cells = line.split(',');
    const click = i % 3 === 0 ? 1 : 0;
    cells[c!] = String(click);
    cells[d!] = String(click && i % 9 === 0 ? 1 : 0);
    cells[b!] = String(click && i % 2 === 0 ? 1 : 0);
    return cells.join(',');
  });
  await writeFile(path, `${[header, ...relabelled].join('\n')}\n`);
}

const chromium = chromiumRequired();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-reports-browser-'));
  await labelledFile(join(dir, 'train.csv'), 1200, 5);
  await labelledFile(join(dir, 'test.csv'), 600, 7);
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens the page and checks what every report page must do; returns the page's measurements. */
async function checkedPage(file: string) {
  browser ??= await launchChromium();
  const checked = await checkReport(browser, file);
  console.log(`screenshot at ${PAGE_WIDTH} px: ${checked.screenshot}`);
  expect(checked.problems).toEqual([]);
  return checked;
}

describe.runIf(chromium.run)('report pages at 1200 px in headless Chromium', () => {
  beforeAll(chromium.check);
  it('eval --report: fits the window, every series its own colour, the oracle AUCs eval prints, and one evaluation said as one', async () => {
    const run = join(dir, 'runs', 'tiny');
    await fit({ model: 'esm2', epochs: 2, batchSize: 100, towers: [4], embeddingDim: 2, lr: 0.01, seed: 3, train: join(dir, 'train.csv'), valid: join(dir, 'test.csv'), out: run });
    const report = join(dir, 'eval.html');
    const program = new Command().exitOverride();
    registerEvalCommand(program);
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    try {
      await program.parseAsync(['node', 'esm2-train', 'eval', '--model', run, '--data', join(dir, 'test.csv'), '--report', report]);
    } finally {
      log.mockRestore();
    }
    const metrics = JSON.parse(await readFile(join(run, 'metrics.json'), 'utf8')) as { oracle: Record<string, number> };
    const oracle = ['ctr_auc', 'ctavr_auc', 'cvr_auc', 'ctcvr_auc'].map((k) => metrics.oracle[k]!.toFixed(4));
    // eval prints them in its table's last column…
    expect(printed.join('\n')).toMatch(new RegExp(`^ctr .* ${oracle[0]}$`, 'm'));

    const { page, layout, context } = await checkedPage(report);
    // …and the page shows them, as the ranking table's oracle row.
    const oracleRow = await page.locator('tr', { hasText: 'oracle (the true probabilities)' }).locator('td').allTextContents();
    expect(oracleRow).toEqual(['oracle (the true probabilities)', '—', ...oracle, '—', '—']);
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).toContain('One evaluation of one trained model (seed 3)');
    expect(text).not.toContain('over seeds');
    // The training chart: every series fit records (losses, validation logloss and AUC per task) in its own colour.
    const training = layout.charts.find((c) => c.kind === 'training')!;
    expect(training.legend.length).toBeGreaterThan(10);
    await context.close();
  });

  it("compare's report.html: fits the window, every series its own colour, each difference with comparison.md's p and reading", async () => {
    const out = join(dir, 'cmp');
    const c = await runCompare({
      train: join(dir, 'train.csv'),
      valid: join(dir, 'test.csv'),
      test: join(dir, 'test.csv'),
      entries: parseModels('esm2,esmm,dnn'),
      seeds: [1, 2],
      out,
      epochs: 1,
      batchSize: 200,
      towers: [4],
      embeddingDim: 2,
      log: () => {},
    });
    const expected = reportDifferences(c);
    // Each seed interval, then its DeLong (AUC) or bootstrap (GAUC) row on the test rows.
    expect(expected.length).toBe(2 * c.differences.length);
    const { page, layout, context } = await checkedPage(join(out, 'report.html'));
    expect(layout.tables).toBe(6);
    const rows = await page.locator('section', { hasText: 'Differences to the baselines' }).locator('tbody tr').all();
    expect(rows).toHaveLength(expected.length);
    const header = await page.locator('section', { hasText: 'Differences to the baselines' }).locator('th').allTextContents();
    const [pAt, readingAt] = [header.indexOf('p'), header.indexOf('Reading')];
    expect(pAt).toBeGreaterThan(0);
    for (const [i, row] of rows.entries()) {
      const cells = await row.locator('td').allTextContents();
      const p = expected[i]!.pValue!;
      expect(cells[pAt], `row ${i + 1} p`).toBe(Number.isFinite(p) ? p.toFixed(3) : '—');
      expect(cells[readingAt]).toBe(expected[i]!.reading);
    }
    // The seed rows read as comparison.md reads them (the same function writes both).
    const md = await readFile(join(out, 'comparison.md'), 'utf8');
    for (const d of c.differences) if (Number.isFinite(d.pValue)) expect(md).toContain(`| ${d.pValue.toFixed(3)} |`);
    expect(md).toContain(`| ${differenceReading(c, c.differences[0]!)} |`);
    expect(layout.charts.filter((x) => x.kind === 'training')).toHaveLength(3);
    await context.close();
  });
});
