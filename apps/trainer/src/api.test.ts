import { type Esm2Metrics } from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { missingPath, requires } from '@esm2/core/testing';
import { importUserBehavior, writeSynthetic, type EncodersJSON } from '@esm2/data';
import { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerEvalCommand } from './commands/eval.js';
import { fit } from './index.js';
import { readCheckpoint } from './train/checkpoint.js';
import type { EpochRecord } from './train/settings.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-fit-api-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 3000, seed: 5 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 1000, seed: 6 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const small = { model: 'esm2', epochs: 2, batchSize: 100, towers: [8], embeddingDim: 4, lr: 0.01, seed: 3 };

describe('fit() from code', () => {
  it('trains like the fit command and returns the best artifact, its metrics and the history', async () => {
    const out = join(dir, 'runs/api');
    const logs: string[] = [];
    // Selection by CTR AUC: 1000 synthetic rows hold clicks but too few purchases for a CTCVR AUC.
    const result = await fit({ ...small, train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), out, earlyStop: 'ctr_auc', patience: 5, reporter: { log: (m) => logs.push(m) } });
    expect(result.bestArtifact).toBe(join(out, 'best'));
    expect(result.position.epoch).toBe(2);
    expect(result.position.step).toBe(60);
    expect(result.position.best?.metric).toBe('ctr_auc');
    const artifact = await readArtifact(result.bestArtifact);
    expect(artifact.encoders).not.toBeNull();
    const history = JSON.parse(await readFile(result.history, 'utf8')) as EpochRecord[];
    expect(history).toHaveLength(2);
    // The metrics returned are the best epoch's by CTR AUC: its line in the history, the higher of the two epochs',
    // and what `eval` computes for best/ on the validation file.
    const best = result.position.best!;
    expect(result.metrics!).toMatchObject(Object.fromEntries(Object.entries(history[best.epoch - 1]!).filter(([k, v]) => typeof v === 'number' && k.endsWith('_auc'))));
    expect(result.metrics!.ctr_auc).toBe(best.value);
    expect(best.value).toBe(Math.max(...history.map((h) => h.ctr_auc!)));
    expect((await evalMetrics(out, join(dir, 'valid.csv'))).ctr_auc).toBeCloseTo(best.value, 6);
    expect(logs.some((l) => l.includes('fitting encoders'))).toBe(true);
    // The same run directory is not trained over without resume.
    await expect(fit({ ...small, train: join(dir, 'train.csv'), out })).rejects.toThrow(/already holds a run/);
  });

  it('refuses an unknown backend before touching data or the run directory', async () => {
    await expect(fit({ ...small, train: join(dir, 'missing.csv'), out: join(dir, 'runs/bad'), backend: 'cuda' as never })).rejects.toThrow(/unknown backend 'cuda'.*onnx, tfjs/);
  });
});

describe('fit() --interaction', () => {
  it('saves the interaction module with the run; a resume keeps it and says it ignores a different flag', async () => {
    const out = join(dir, 'runs/dot');
    const train = join(dir, 'train.csv');
    const first = await fit({ ...small, epochs: 1, train, out, interaction: 'dot' });
    const saved = await readArtifact(first.bestArtifact);
    expect(saved.model.config).toMatchObject({ interaction: 'dot', crossLayers: 2 });
    expect(saved.graph.nodes.some((n) => n.op === 'pairwiseDot')).toBe(true);
    const logs: string[] = [];
    const resumed = await fit({ out, train, epochs: 2, resume: true, interaction: 'cross', crossLayers: 3, reporter: { log: (m) => logs.push(m) } });
    expect(resumed.position.epoch).toBe(2);
    expect(logs.some((l) => l.includes('ignoring') && l.includes('--interaction') && l.includes('--cross-layers'))).toBe(true);
    const latest = await readCheckpoint(join(out, 'checkpoint'));
    expect(latest.settings.model).toMatchObject({ interaction: 'dot', crossLayers: 2 });
  });
});

describe('fit() --init calibrated, --embedding-lr, --embedding-l2', () => {
  it('starts the towers at the base rates, saves the settings with the run, and a resume keeps them', async () => {
    const out = join(dir, 'runs/calibrated');
    const train = join(dir, 'train.csv');
    const logs: string[] = [];
    await fit({ ...small, epochs: 1, train, out, init: 'calibrated', embeddingLr: 2e-4, embeddingL2: 1e-6, reporter: { log: (m) => logs.push(m) } });
    expect(logs.some((l) => /^calibrated start: base rates ctr 0\.0\d+, /.test(l))).toBe(true);
    const first = await readCheckpoint(join(out, 'checkpoint'));
    expect(first.settings.model.init).toBe('calibrated');
    expect(first.settings.optimizer).toMatchObject({ embeddingLr: 2e-4, embeddingL2: 1e-6 });
    // One epoch of 30 steps moves the click tower's bias, but it stays near logit(ctr) ≈ −3, far from the paper's 0.
    expect(first.artifact.weights.get('y1/out/b')![0]!).toBeLessThan(-2);
    const resumeLogs: string[] = [];
    await fit({ out, train, epochs: 2, resume: true, init: 'paper', embeddingLr: 1e-3, reporter: { log: (m) => resumeLogs.push(m) } });
    expect(resumeLogs.some((l) => l.includes('ignoring') && l.includes('--init') && l.includes('--embedding-lr'))).toBe(true);
    const latest = await readCheckpoint(join(out, 'checkpoint'));
    expect(latest.position.epoch).toBe(2);
    expect(latest.settings.model.init).toBe('calibrated');
    expect(latest.settings.optimizer).toMatchObject({ embeddingLr: 2e-4, embeddingL2: 1e-6 });
  });
});

describe('fit() --workers', () => {
  it('saves the worker count with the run; a resume keeps it unless given again, and a checkpoint saved before the setting resumes with the cores', async () => {
    const out = join(dir, 'runs/workers');
    const train = join(dir, 'train.csv');
    const logs: string[] = [];
    await fit({ ...small, epochs: 1, train, out, workers: 2, reporter: { log: (m) => logs.push(m) } });
    expect(logs.find((l) => l.startsWith('engine: onnx'))).toMatch(/2 workers × 1 intra-op thread/);
    expect((await readCheckpoint(join(out, 'checkpoint'))).settings.workers).toBe(2);
    await fit({ out, train, epochs: 2, resume: true });
    expect((await readCheckpoint(join(out, 'checkpoint'))).settings.workers).toBe(2);
    await fit({ out, train, epochs: 3, resume: true, workers: 1 });
    expect((await readCheckpoint(join(out, 'checkpoint'))).settings.workers).toBe(1);

    // A checkpoint as runs saved it before --workers existed: no workers in its settings.
    const path = join(out, 'checkpoint');
    const old = await readArtifact(path);
    const meta = old.metadata as { settings: Record<string, unknown> };
    delete meta.settings.workers;
    await writeArtifact(path, old);
    expect((await readCheckpoint(path)).settings.workers).toBeUndefined();
    const resumed = await fit({ out, train, epochs: 4, resume: true });
    expect(resumed.position.epoch).toBe(4);
    expect((await readCheckpoint(path)).settings.workers).toBe(availableParallelism());
  });
});

const UB_SAMPLE = fileURLToPath(new URL('../../../../shared/data/taobao_userbehavior_peruser_10k.csv', import.meta.url));
const sample = requires({ what: 'the shared UserBehavior sample', missing: missingPath(UB_SAMPLE), install: 'put the samples in shared/data beside the clone, see docs/cli.md' });

describe.runIf(sample.run)('fit() --daction: the post-click behaviour that counts as DAction', () => {
  /** The real 10k-event UserBehavior sample, imported: separate cart and fav columns. */
  let ub: string;
  let counts: { cart: number; fav: number; either: number };
  beforeAll(sample.check);
  beforeAll(async () => {
    ub = join(dir, 'ub.csv');
    await importUserBehavior(UB_SAMPLE, ub);
    const lines = (await readFile(ub, 'utf8')).trim().split('\n');
    const header = lines[0]!.split(',');
    const [c, f] = [header.indexOf('cart'), header.indexOf('fav')];
    const rows = lines.slice(1).map((l) => l.split(','));
    counts = { cart: rows.filter((r) => r[c] === '1').length, fav: rows.filter((r) => r[f] === '1').length, either: rows.filter((r) => r[c] === '1' || r[f] === '1').length };
    expect(counts).toEqual({ cart: 79, fav: 24, either: 101 }); // as counted with awk (see the importer's tests)
  });

  const evalDactions = async (run: string): Promise<number> => (await evalMetrics(run, ub)).dactions;

  it("records daction ['fav'] with the run, eval reads it back, and a resume may not change it", async () => {
    const out = join(dir, 'runs/fav');
    const logs: string[] = [];
    const result = await fit({ ...small, epochs: 1, batchSize: 1000, train: ub, out, daction: ['fav'], reporter: { log: (m) => logs.push(m) } });
    expect(logs).toContain('DAction: fav');
    expect(result.settings.data?.labels?.daction).toEqual(['fav']);
    // The encoders saved in the artifact and in the checkpoint decide how every later reader takes labels.
    const best = savedConfig(await readArtifact(result.bestArtifact));
    expect(best.labels).toEqual({ click: 'click', daction: ['fav'], buy: 'buy' });
    expect(savedConfig((await readCheckpoint(result.checkpoint)).artifact).labels.daction).toEqual(['fav']);
    // The post-click column left out of DAction is no feature either.
    expect(best.fields.map((f) => f.column)).not.toContain('cart');
    expect(await evalDactions(out)).toBe(counts.fav);

    await expect(fit({ out, resume: true, epochs: 2, daction: ['cart', 'fav'] })).rejects.toThrow(
      `--resume: ${out} was trained with DAction = fav; --daction cart,fav would change it. The run keeps its settings`,
    );
    const resumed = await fit({ out, resume: true, epochs: 2, daction: ['fav'] });
    expect(resumed.position.epoch).toBe(2);
    expect(await evalDactions(out)).toBe(counts.fav);
  });

  it('defaults to cart OR fav on imported UserBehavior; --daction cart takes cart alone', async () => {
    const both = await fit({ ...small, epochs: 1, batchSize: 1000, train: ub, out: join(dir, 'runs/default') });
    expect(savedConfig(await readArtifact(both.bestArtifact)).labels.daction).toEqual(['cart', 'fav']);
    expect(await evalDactions(both.dir)).toBe(counts.either);
    const cart = await fit({ ...small, epochs: 1, batchSize: 1000, train: ub, out: join(dir, 'runs/cart'), daction: ['cart'] });
    expect(await evalDactions(cart.dir)).toBe(counts.cart);
  });

  it('a --daction column the file lacks is an error naming the file, the column and the columns it has', async () => {
    const out = join(dir, 'runs/wish');
    await expect(fit({ ...small, train: ub, out, daction: ['cart', 'wish'] })).rejects.toThrow(
      `--daction cart,wish: ${ub}, line 1 (header), column 'wish': missing column (the file has user_id, item_id, category_id, hour, weekday, user_log_events, user_log_buys, item_log_views, user_category_log_views, click, cart, fav, buy, ts)`,
    );
  });
});

/** `esm2-train eval --model RUN --data DATA`: the metrics it writes to the run's metrics.json. */
async function evalMetrics(run: string, data: string): Promise<Esm2Metrics> {
  const program = new Command().exitOverride();
  registerEvalCommand(program);
  const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(['node', 'esm2-train', 'eval', '--model', run, '--data', data]);
  } finally {
    quiet.mockRestore();
  }
  return JSON.parse(await readFile(join(run, 'metrics.json'), 'utf8')) as Esm2Metrics;
}

function savedConfig(artifact: { encoders: unknown }): EncodersJSON['config'] {
  return (artifact.encoders as EncodersJSON).config;
}
