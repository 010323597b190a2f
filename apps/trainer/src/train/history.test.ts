import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from './history.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'esm2-history-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readHistory', () => {
  it('loads a file written without validation data, and keeps every other field as written', async () => {
    const path = join(dir, 'old.json');
    const epochs = [
      { epoch: 1, train_loss: 0.5, train_losses: { loss: 0.5, loss_ctr: 0.3 }, seconds: 1.2, samples_per_s: 900 },
      { epoch: 2, train_loss: 0.4, train_losses: { loss: 0.4, loss_ctr: 0.25 }, seconds: 1.1, samples_per_s: 950, cvr_auc: null, logloss: { ctr: 0.2 }, added_later: 'x' },
    ];
    await writeFile(path, JSON.stringify(epochs));
    expect(await readHistory(path)).toEqual(epochs);
  });

  it('is undefined when the file is absent', async () => {
    expect(await readHistory(join(dir, 'none.json'))).toBeUndefined();
  });

  it('refuses a file that is not JSON or not a history, naming it and what is wrong', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[{"epoch": 1,');
    await expect(readHistory(bad)).rejects.toThrow(`${bad} is not valid JSON`);
    await writeFile(bad, JSON.stringify([{ epoch: 0, train_loss: 'high', train_losses: {}, seconds: 1, samples_per_s: 1 }]));
    await expect(readHistory(bad)).rejects.toThrow(new RegExp(`^${bad} is not a training history \\(one record per epoch\\): 0\\.epoch: .*; 0\\.train_loss: `));
  });
});
