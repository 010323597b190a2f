import { writeSynthetic } from '@esm2/data';
import { Command } from 'commander';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fit } from '../index.js';
import { readHistory } from '../train/history.js';
import { registerEvalCommand } from './eval.js';

let dir: string;
let test: string;
let run: string;

/**
 * Synthetic features with hand-set labels, so every task has both classes on
 * 480 rows: a click every third row, a DAction every ninth, a purchase on
 * every even clicked row (80 purchases: under the 100 a comparison needs).
 */
async function labelledFile(path: string): Promise<void> {
  await writeSynthetic(path, { rows: 480, seed: 7, worldSeed: 5 });
  const [header, ...rows] = (await readFile(path, 'utf8')).trimEnd().split('\n');
  expect(header!.endsWith(',click,daction,buy')).toBe(true);
  const relabelled = rows.map((line, i) => {
    const click = i % 3 === 0 ? 1 : 0;
    const cells = line.split(',').slice(0, -3);
    return [...cells, click, click && i % 9 === 0 ? 1 : 0, click && i % 2 === 0 ? 1 : 0].join(',');
  });
  await writeFile(path, `${[header, ...relabelled].join('\n')}\n`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-eval-report-'));
  test = join(dir, 'test.csv');
  await writeSynthetic(join(dir, 'train.csv'), { rows: 1200, seed: 5 });
  await labelledFile(test);
  run = join(dir, 'runs', 'tiny');
  await fit({ model: 'esm2', epochs: 2, batchSize: 100, towers: [4], embeddingDim: 2, lr: 0.01, seed: 3, train: join(dir, 'train.csv'), valid: test, out: run });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function evalCli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerEvalCommand(program);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'esm2-train', 'eval', ...args]);
  } finally {
    log.mockRestore();
  }
  return printed.join('\n');
}

const kinds = (html: string) => [...html.matchAll(/<figure class="chart" data-kind="(\w+)"/g)].map((m) => m[1]);

describe('fit records what the report charts in history.json', () => {
  it('per epoch: the training losses and, with validation data, the logloss and AUC of every task', async () => {
    const history = (await readHistory(join(run, 'history.json')))!;
    expect(history.map((h) => h.epoch)).toEqual([1, 2]);
    for (const h of history) {
      expect(Object.keys(h.train_losses).sort()).toEqual(['loss', 'loss_ctavr', 'loss_ctcvr', 'loss_ctr']);
      expect(h.train_loss).toBe(h.train_losses.loss);
      const logloss = h.logloss as Record<string, number>;
      for (const task of ['ctr', 'ctavr', 'cvr', 'ctcvr'] as const) {
        expect(logloss[task]).toBeGreaterThan(0);
        expect(h[`${task}_auc`]).toBeTypeOf('number');
      }
    }
  });
});

describe('esm2-train eval --report', () => {
  it('writes one page for the model: ROC and calibration per task, its training curves, top-k bars', async () => {
    const report = join(dir, 'out', 'report.html');
    const printed = await evalCli('--model', run, '--data', test, '--report', report);
    expect(printed).toContain(`report written to ${report}`);
    const html = await readFile(report, 'utf8');
    expect(kinds(html).sort()).toEqual(['calibration', 'calibration', 'calibration', 'calibration', 'roc', 'roc', 'roc', 'roc', 'topk', 'topk', 'training']);
    expect(html).toContain('<title>ESM2 evaluation: esm2 (tiny)</title>');
    expect(html).toContain('Training — esm2 (tiny)');
    // The figures are the ones written to metrics.json (one scoring pass feeds both).
    const metrics = JSON.parse(await readFile(join(run, 'metrics.json'), 'utf8')) as { positives: { ctcvr: number }; gauc_users: { cvr: number } };
    expect(metrics.positives.ctcvr).toBe(80);
    expect(html).toContain(`ROC — CTCVR (80 positives)`);
    // The printed table: users behind each GAUC, and a warning for the tasks under 100 test positives.
    expect(printed).toMatch(new RegExp(`^cvr\\s+80\\s+\\S+\\s+\\S+\\s+${metrics.gauc_users.cvr}\\s`, 'm'));
    expect(printed).toContain('warning: CTCVR rests on only 80 test positives (fewer than 100)');
    expect(printed).not.toContain('warning: CTR');
  });

  it('a bare artifact has no history: the same page without training curves', async () => {
    const report = join(dir, 'bare.html');
    await evalCli('--model', join(run, 'best'), '--data', test, '--report', report, '--out', join(dir, 'bare-metrics.json'));
    const html = await readFile(report, 'utf8');
    expect(kinds(html)).not.toContain('training');
    expect(kinds(html)).toHaveLength(10);
  });

  it('refuses a report path that is an input (the data, a model file, the history) before writing anything', async () => {
    const before = await readFile(test, 'utf8');
    await expect(evalCli('--model', run, '--data', test, '--report', test)).rejects.toThrow(`--report ${test} is the same file as --data ${test}`);
    const modelJson = join(run, 'best', 'model.json');
    await expect(evalCli('--model', run, '--data', test, '--report', modelJson)).rejects.toThrow(`--report ${modelJson} is the same file as --model ${modelJson}`);
    const history = join(run, 'history.json');
    await expect(evalCli('--model', run, '--data', test, '--report', history)).rejects.toThrow(`--report ${history} is the same file as --model ${history}`);
    const metrics = join(dir, 'm.json');
    await expect(evalCli('--model', run, '--data', test, '--out', metrics, '--report', metrics)).rejects.toThrow(`--out ${metrics} is the same file as --report ${metrics}: --out and --report would overwrite each other`);
    expect(await readFile(test, 'utf8')).toBe(before);
    await expect(readFile(metrics)).rejects.toThrow(/ENOENT/);
  });
});
