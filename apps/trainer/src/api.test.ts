import { readArtifact } from '@esm2/core';
import { writeSynthetic } from '@esm2/data';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit } from './index.js';

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
    expect(result.metrics?.ctr_auc).toBeGreaterThan(0);
    const artifact = await readArtifact(result.bestArtifact);
    expect(artifact.encoders).not.toBeNull();
    const history = JSON.parse(await readFile(result.history, 'utf8')) as unknown[];
    expect(history).toHaveLength(2);
    expect(logs.some((l) => l.includes('fitting encoders'))).toBe(true);
    // The same run directory is not trained over without resume.
    await expect(fit({ ...small, train: join(dir, 'train.csv'), out })).rejects.toThrow(/already holds a run/);
  });

  it('refuses an unknown backend before touching data or the run directory', async () => {
    await expect(fit({ ...small, train: join(dir, 'missing.csv'), out: join(dir, 'runs/bad'), backend: 'cuda' as never })).rejects.toThrow(/unknown backend 'cuda'.*onnx, tfjs/);
  });
});
