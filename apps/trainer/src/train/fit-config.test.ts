import { DEFAULT_OPTIMIZER, parseModelConfig } from '@esm2/core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadFitConfig, resolveFitSettings } from './fit-config.js';
import { FIT_DEFAULTS, RESUME_KEPT, SETTING_FLAGS, SETTING_FLAG_NAMES } from './settings.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'esm2-fit-config-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

const defaults = { backend: 'tfjs' };

describe('fit settings', () => {
  it('flags override the config file, which overrides defaults', async () => {
    const path = join(dir, 'cfg.yaml');
    await writeFile(path, 'model: { model: esmm, towers: [32, 16], embeddingDim: 8 }\noptimizer: { lr: 0.02, clipNorm: 5 }\ntrain: { epochs: 7, batchSize: 256, earlyStop: cvr_auc, patience: 3 }\n');
    const cfg = await loadFitConfig(path);
    const s = resolveFitSettings({ data: 'train.csv', valid: 'valid.csv', model: 'esm2', lr: 0.005, towers: [8] }, cfg, defaults);
    expect(s.model.model).toBe('esm2');
    expect(s.model.towers).toEqual([8]);
    expect(s.model.embeddingDim).toBe(8);
    expect(s.optimizer).toEqual({ ...DEFAULT_OPTIMIZER, lr: 0.005, clipNorm: 5 });
    expect([s.epochs, s.batchSize, s.seed, s.backend]).toEqual([7, 256, 1, 'tfjs']);
    expect(s.earlyStop).toEqual({ metric: 'cvr_auc', patience: 3 });
  });

  it('init, embeddingLr and embeddingL2: from the config, a flag overriding it, and checked', () => {
    const cfg = { model: { init: 'calibrated' as const }, optimizer: { embeddingLr: 1e-4, embeddingL2: 1e-6 } };
    const s = resolveFitSettings({ data: 'train.csv', model: 'esm2', embeddingL2: 0 }, cfg, defaults);
    expect(s.model.init).toBe('calibrated');
    expect(s.optimizer).toEqual({ ...DEFAULT_OPTIMIZER, embeddingLr: 1e-4, embeddingL2: 0 });
    const d = resolveFitSettings({ data: 'train.csv', model: 'esm2' }, {}, defaults);
    expect([d.model.init, d.optimizer.embeddingLr, d.optimizer.embeddingL2]).toEqual([FIT_DEFAULTS.init, FIT_DEFAULTS.embeddingLr, FIT_DEFAULTS.embeddingL2]);
    expect(() => resolveFitSettings({ data: 'train.csv', model: 'esm2', init: 'warm' }, {}, defaults)).toThrow(/init/);
    expect(() => resolveFitSettings({ data: 'train.csv', model: 'esm2' }, { optimizer: { embeddingLr: -1 } }, defaults)).toThrow(/optimizer\.embeddingLr/);
  });

  it('selectBy: logloss by default, from the config or a flag, the early-stop metric when stopping early, checked', () => {
    const base = { data: 'train.csv', valid: 'valid.csv', model: 'esm2' };
    expect(resolveFitSettings(base, {}, defaults).selectBy).toBe('logloss');
    expect(FIT_DEFAULTS.selectBy).toBe('logloss');
    expect(resolveFitSettings(base, { train: { selectBy: 'ctr_auc' } }, defaults).selectBy).toBe('ctr_auc');
    expect(resolveFitSettings({ ...base, selectBy: 'logloss_ctr' }, { train: { selectBy: 'ctr_auc' } }, defaults).selectBy).toBe('logloss_ctr');
    expect(resolveFitSettings({ ...base, earlyStop: 'cvr_auc' }, {}, defaults).selectBy).toBe('cvr_auc');
    expect(() => resolveFitSettings({ ...base, selectBy: 'loss' }, {}, defaults)).toThrow(/unknown metric 'loss'/);
    expect(() => resolveFitSettings({ ...base, selectBy: 'logloss', earlyStop: 'cvr_auc' }, {}, defaults)).toThrow(/--select-by logloss and --early-stop cvr_auc disagree/);
  });

  it('names what is wrong', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'train: { epoch: 3 }\n');
    await expect(loadFitConfig(path)).rejects.toThrow(`${path}: train.epoch: unknown key`);
    await expect(loadFitConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: no such file/);
    expect(() => resolveFitSettings({ model: 'esm2' }, {}, defaults)).toThrow(/--data <file> is required/);
    expect(() => resolveFitSettings({ data: 'x.csv' }, {}, defaults)).toThrow(/--model is required/);
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2', earlyStop: 'ctcvr_auc' }, {}, defaults)).toThrow(/needs validation data: pass --valid/);
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2' }, { optimizer: { embeddingOptimizer: 'sgd' as 'adam' } }, defaults)).toThrow(/embeddingOptimizer/);
  });
});

describe('--interaction and --cross-layers', () => {
  it('reach the model config over the config file, whose keys work too; the default is none', () => {
    const base = { data: 'train.csv', model: 'esm2' };
    expect(resolveFitSettings({ ...base, interaction: 'cross', crossLayers: 3 }, { model: { interaction: 'dot' } }, defaults).model).toMatchObject({ interaction: 'cross', crossLayers: 3 });
    expect(resolveFitSettings(base, { model: { interaction: 'dot', crossLayers: 4 } }, defaults).model).toMatchObject({ interaction: 'dot', crossLayers: 4 });
    expect(resolveFitSettings(base, {}, defaults).model).toMatchObject({ interaction: FIT_DEFAULTS.interaction, crossLayers: FIT_DEFAULTS.crossLayers });
    expect(FIT_DEFAULTS.interaction).toBe('none');
    expect(() => resolveFitSettings({ ...base, interaction: 'fm' }, {}, defaults)).toThrow(/interaction/);
  });
});

describe('--daction', () => {
  it('overrides the config\'s labels.daction and keeps the rest of its data section', () => {
    const cfg = { data: { labels: { daction: ['cart', 'fav'], buy: 'pay' }, numeric: ['price'] } };
    const s = resolveFitSettings({ data: 'x.csv', model: 'esm2', daction: ['fav'] }, cfg, defaults);
    expect(s.data).toEqual({ labels: { daction: ['fav'], buy: 'pay' }, numeric: ['price'] });
    // Without the flag the config decides; without either, nothing is set and the file's columns are inferred.
    expect(resolveFitSettings({ data: 'x.csv', model: 'esm2' }, cfg, defaults).data?.labels?.daction).toEqual(['cart', 'fav']);
    expect(resolveFitSettings({ data: 'x.csv', model: 'esm2' }, {}, defaults).data).toBeUndefined();
    expect(resolveFitSettings({ data: 'x.csv', model: 'esm2', daction: ['cart', 'fav'] }, {}, defaults).data).toEqual({ labels: { daction: ['cart', 'fav'] } });
  });

  it('refuses an empty list and a column named twice', () => {
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2', daction: [] }, {}, defaults)).toThrow('--daction needs one or more column names');
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2', daction: ['cart', 'cart'] }, {}, defaults)).toThrow('--daction names a column twice: cart,cart');
  });
});

describe('fit config schema', () => {
  it('the commented example (referenced by fit --help) loads and names every section', async () => {
    const example = fileURLToPath(new URL('../../examples/fit-config.yaml', import.meta.url));
    const cfg = await loadFitConfig(example);
    expect(Object.keys(cfg)).toEqual(['model', 'optimizer', 'data', 'train']);
    const s = resolveFitSettings({ data: 'train.csv', valid: 'valid.csv' }, cfg, defaults);
    expect(s.model).toMatchObject({ model: 'esm2', towers: [256, 128, 64], embeddingDim: 16, lossWeights: { ctr: 1, ctavr: 1, ctcvr: 1 } });
    // It says it shows the defaults: every model key is core's (the model itself has none), and `task`, which does nothing, is left out.
    const { task: _task, ...modelDefaults } = parseModelConfig({ model: 'esm2' });
    expect(cfg.model).toEqual(modelDefaults);
    expect(cfg.optimizer).toEqual(DEFAULT_OPTIMIZER);
    expect(s.optimizer).toEqual(DEFAULT_OPTIMIZER);
    // The columns of `esm2-train data generate` (src/examples/examples.test.ts trains with it on them).
    expect(s.data?.labels).toEqual({ click: 'click', daction: 'daction', buy: 'buy' });
    expect([s.epochs, s.batchSize, s.seed, s.shuffleBuffer, s.backend]).toEqual([FIT_DEFAULTS.epochs, FIT_DEFAULTS.batchSize, FIT_DEFAULTS.seed, FIT_DEFAULTS.shuffleBuffer, 'onnx']);
    expect(s.earlyStop).toEqual({ metric: 'logloss', patience: FIT_DEFAULTS.patience });
    expect(s.selectBy).toBe('logloss');
  });

  it('rejects a misspelt key at any depth, naming its path and the file', async () => {
    const cases: [string, string][] = [
      ['model: { model: esm2, embedingDim: 8 }\n', 'model.embedingDim: unknown key'],
      ['model: { lossWeights: { ctr: 1, cvr: 1 } }\n', 'model.lossWeights.cvr: unknown key'],
      ['optimizer: { learningRate: 0.1 }\n', 'optimizer.learningRate: unknown key'],
      ['data: { labels: { clik: c } }\n', 'data.labels.clik: unknown key'],
      ['data: { fields: [{ kind: categorical, name: a, embedingDim: 4 }] }\n', 'data.fields.0.embedingDim: unknown key'],
      ['trian: { epochs: 2 }\n', 'trian: unknown key'],
      ['train: { earlyStop: auc }\n', 'train.earlyStop:'],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const path = join(dir, `typo-${i}.yaml`);
      await writeFile(path, text);
      await expect(loadFitConfig(path), text).rejects.toThrow(`${path}: ${message}`);
    }
    // A config given as an object (fit() from code) is held to the same schema.
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2' }, { model: { embedingDim: 8 } as never }, defaults)).toThrow('fit config: model.embedingDim: unknown key');
  });

  it('--loss-weights overrides the config; YAML errors name line and column', async () => {
    const s = resolveFitSettings({ data: 'x.csv', model: 'esm2', lossWeights: { ctr: 1, ctavr: 0, ctcvr: 2 } }, { model: { lossWeights: { ctr: 5, ctavr: 5, ctcvr: 5 } } }, defaults);
    expect(s.model.lossWeights).toEqual({ ctr: 1, ctavr: 0, ctcvr: 2 });
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'model:\n  towers: [8, 4\n');
    await expect(loadFitConfig(path)).rejects.toThrow(new RegExp(`${path}: not valid YAML/JSON: .*line 3`));
  });
});

describe('the settings schema: one source of types, checks and defaults', () => {
  it('FIT_DEFAULTS (the help texts) are what a fit given no setting resolves to, setting by setting', () => {
    const s = resolveFitSettings({ data: 'x.csv', model: 'esm2' }, {}, defaults);
    const resolved = { model: s.model, optimizer: s.optimizer, train: { epochs: s.epochs, batchSize: s.batchSize, seed: s.seed, shuffleBuffer: s.shuffleBuffer, selectBy: s.selectBy } } as Record<string, Record<string, unknown>>;
    const checked = SETTING_FLAG_NAMES.filter((k) => !['earlyStop', 'patience', 'backend'].includes(k));
    for (const k of checked) expect(resolved[SETTING_FLAGS[k]]![k], k).toEqual(FIT_DEFAULTS[k]);
    // The values themselves, from core (model config, DEFAULT_OPTIMIZER) and the trainer's loop defaults.
    expect(FIT_DEFAULTS).toMatchObject({ epochs: 3, batchSize: 1024, seed: 1, shuffleBuffer: 100_000, patience: 2, selectBy: 'logloss', lr: DEFAULT_OPTIMIZER.lr, embeddingL2: 0, init: 'calibrated', towers: [256, 128, 64] });
  });

  it('a value a flag gave is refused naming the flag (fit(), whose options skip the CLI parsers); one from the config naming its key', () => {
    const base = { data: 'x.csv', model: 'esm2' };
    expect(() => resolveFitSettings({ ...base, lr: -1 }, {}, defaults)).toThrow(/^--lr: Too small/);
    expect(() => resolveFitSettings({ ...base, embeddingL2: -1 }, {}, defaults)).toThrow(/^--embedding-l2: Too small/);
    expect(() => resolveFitSettings({ ...base, epochs: 1.5 }, {}, defaults)).toThrow(/^--epochs: .*int/);
    expect(() => resolveFitSettings({ ...base, shuffleBuffer: 0 }, {}, defaults)).toThrow(/^--shuffle-buffer: Too small/);
    expect(() => resolveFitSettings({ ...base, lossWeights: { ctr: -1, ctavr: 1, ctcvr: 1 } }, {}, defaults)).toThrow(/^--loss-weights \(ctr\): Too small/);
    expect(() => resolveFitSettings({ ...base, model: 'esm3' }, {}, defaults)).toThrow(/^--model: .*esm2/);
    expect(() => resolveFitSettings(base, { optimizer: { beta1: 1 } }, defaults)).toThrow(/^fit config: optimizer\.beta1: Too big/);
    // A flag wins over the config.
    expect(resolveFitSettings({ ...base, lr: 0.5 }, { optimizer: { lr: 0.1 } }, defaults).optimizer.lr).toBe(0.5);
  });

  it('a resume keeps every setting but the new total of epochs and the engine', () => {
    expect([...RESUME_KEPT].sort()).toEqual(SETTING_FLAG_NAMES.filter((k) => k !== 'epochs' && k !== 'backend').sort());
    expect(RESUME_KEPT).toContain('embeddingL2');
  });
});
