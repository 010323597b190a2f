import { DEFAULT_OPTIMIZER } from '@esm2/core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFitConfig, resolveFitSettings } from './fit-config.js';

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

  it('names what is wrong', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'train: { epoch: 3 }\n');
    await expect(loadFitConfig(path)).rejects.toThrow(/unknown key\(s\) train\.epoch/);
    await expect(loadFitConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: no such file/);
    expect(() => resolveFitSettings({ model: 'esm2' }, {}, defaults)).toThrow(/--data <file> is required/);
    expect(() => resolveFitSettings({ data: 'x.csv' }, {}, defaults)).toThrow(/--model is required/);
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2', earlyStop: 'ctcvr_auc' }, {}, defaults)).toThrow(/needs validation data: pass --valid/);
    expect(() => resolveFitSettings({ data: 'x.csv', model: 'esm2' }, { optimizer: { embeddingOptimizer: 'sgd' as 'adam' } }, defaults)).toThrow(/embeddingOptimizer/);
  });
});
