import { once } from 'node:events';
import { watch } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@esm2/core';
import { DEFAULT_PYTHON, leftoverDirs, liveTemps } from '@esm2/core/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { evaluateGbdt, predictGbdt, readGbdtMeta, trainGbdt } from './gbdt.js';
import { XgboostMissingError } from './python.js';
import { batchesOf, SCHEMA, xgboostRequired, type Row } from './test-support/xgboost.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gbdt-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A hand-made funnel: 24 impressions, 10 clicks, 4 purchases; every feature kind, missing list slots included. */
const TINY: Row[] = Array.from({ length: 24 }, (_, i) => {
  const click = i % 12 < 5 ? 1 : 0;
  const buy = click && i % 3 === 0 ? 1 : 0;
  return { item: i % 8, price: (i % 5) - 2 + 0.25 * i, tags: [i % 16, i % 4 === 0 ? -1 : (i * 7) % 16], click, buy };
});

/**
 * A learnable signal: the item id drives the click, the price (among
 * clicks) the purchase. Drawn from a seeded generator.
 */
function signalRows(n: number, seed: number): Row[] {
  const rand = mulberry32(seed);
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  return Array.from({ length: n }, () => {
    const item = Math.floor(rand() * 8);
    const price = rand() * 4 - 2;
    const tags: [number, number] = [Math.floor(rand() * 16), rand() < 0.5 ? -1 : Math.floor(rand() * 16)];
    const click = rand() < sig(item < 3 ? 1 : -1.5) ? 1 : 0;
    const buy = click && rand() < sig(2 * price - 0.5) ? 1 : 0;
    return { item, price, tags, click, buy, user: Math.floor(rand() * 50) };
  });
}

const xgboost = xgboostRequired();

describe.runIf(xgboost.run)('the GBDT baseline with XGBoost', () => {
  beforeAll(xgboost.check);
  it('trains CTR on every impression and CVR on the clicked ones only; pCTCVR is pCTR × pCVR exactly', async () => {
    const outDir = join(dir, 'tiny');
    const meta = await trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 7), params: { numRounds: 5, maxDepth: 2, minChildWeight: 0 }, outDir });
    const clicks = TINY.filter((r) => r.click === 1);
    expect(meta.ctr.trainRows).toBe(TINY.length);
    expect(meta.ctr.trainPositives).toBe(clicks.length);
    expect(meta.cvr.trainRows).toBe(clicks.length);
    expect(meta.cvr.trainPositives).toBe(clicks.filter((r) => r.buy === 1).length);
    expect(meta.ctr.baseScore).toBeCloseTo(10 / 24, 6);
    expect(meta.cvr.baseScore).toBeCloseTo(4 / 10, 6);
    expect(meta.ctr.rounds).toBe(5);
    expect(meta.ctr.trainLogloss).toHaveLength(5);
    expect(meta.xgboostVersion).toMatch(/^\d+\.\d+/);
    expect(meta.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['item:c', 'price:q', 'tags#0:c', 'tags#1:c']);
    expect((await readdir(outDir)).sort()).toEqual(['ctr.model.json', 'cvr.model.json', 'gbdt.json']);
    expect(await readGbdtMeta(outDir)).toEqual(meta);

    const p = await predictGbdt(outDir, batchesOf(TINY, 5));
    expect(p.rows).toBe(TINY.length);
    for (let i = 0; i < p.rows; i++) {
      expect(p.pctr[i]).toBeGreaterThan(0);
      expect(p.pctr[i]).toBeLessThan(1);
      expect(p.pcvr[i]).toBeGreaterThan(0);
      expect(p.pctcvr[i]).toBe(Math.fround(p.pctr[i]! * p.pcvr[i]!));
    }
    // The CTR model learnt the clicks (training rows, so it fits them): clicked rows score higher on average.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const byClick = (c: number) => mean(TINY.flatMap((r, i) => (r.click === c ? [p.pctr[i]!] : [])));
    expect(byClick(1)).toBeGreaterThan(byClick(0));
    // Batching does not change predictions.
    const again = await predictGbdt(outDir, batchesOf(TINY, 24));
    expect(again.pctcvr).toEqual(p.pctcvr);
    expect(liveTemps()).toEqual([]);
    expect(await leftoverDirs(outDir)).toEqual({ tmp: [], old: [] });
  });

  it('learns a synthetic signal: AUCs from core\'s metric code clearly above 0.5; early stopping on the validation data', async () => {
    const outDir = join(dir, 'signal');
    const meta = await trainGbdt({
      schema: SCHEMA,
      train: batchesOf(signalRows(6000, 1), 1000),
      valid: batchesOf(signalRows(2000, 2), 1000),
      params: { numRounds: 300, maxDepth: 3, eta: 0.3, earlyStoppingRounds: 5 },
      outDir,
    });
    expect(meta.ctr.validRows).toBe(2000);
    expect(meta.cvr.validRows).toBeLessThan(2000);
    expect(meta.ctr.validLogloss).toHaveLength(meta.ctr.rounds);
    // Pure noise beyond the signal: early stopping ends well before 300 rounds, and the best round is kept.
    expect(meta.ctr.rounds).toBeLessThan(300);
    expect(meta.ctr.bestIteration).toBeLessThan(meta.ctr.rounds);

    const test = signalRows(3000, 3);
    const metrics = await evaluateGbdt(outDir, batchesOf(test, 512));
    expect(metrics.rows).toBe(3000);
    expect(metrics.clicks).toBe(test.filter((r) => r.click).length);
    expect(metrics.ctr_auc).toBeGreaterThan(0.65);
    expect(metrics.cvr_auc).toBeGreaterThan(0.65);
    expect(metrics.ctcvr_auc).toBeGreaterThan(0.65);
    expect(metrics.ctavr_auc).toBeUndefined();
    expect(metrics.gauc_users?.ctcvr).toBeGreaterThan(0);
  });

  it('surfaces the python traceback when XGBoost fails, and names the model file when gbdt.json is damaged', async () => {
    const outDir = join(dir, 'broken');
    await trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), params: { numRounds: 2 }, outDir });
    await writeFile(join(outDir, 'cvr.model.json'), '{"not": "a model"');
    const failed = predictGbdt(outDir, batchesOf(TINY, 24));
    await expect(failed).rejects.toThrow(/^XGBoost prediction failed \(.* exited with code 1\): XGBoostError: .*Expecting/);
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringContaining('Traceback (most recent call last)') });

    await writeFile(join(outDir, 'gbdt.json'), '{"format": "esm2-gbdt", "version": 2}');
    await expect(predictGbdt(outDir, batchesOf(TINY, 24))).rejects.toThrow(`${join(outDir, 'gbdt.json')}: version`);
  });

  it('refuses a CVR model without clicked training rows, leaving no model directory', async () => {
    const outDir = join(dir, 'no-clicks');
    const rows = TINY.map((r) => ({ ...r, click: 0, buy: 0 }));
    await expect(trainGbdt({ schema: SCHEMA, train: batchesOf(rows, 24), outDir })).rejects.toThrow(/cvr: no training rows \(no clicked impressions/);
    await expect(readdir(outDir)).rejects.toThrow(/ENOENT/);
    expect(await leftoverDirs(outDir)).toEqual({ tmp: [], old: [] });
  });

  it('kills XGBoost when the caller aborts, leaving no model directory', async () => {
    // A python that records its pid (so the test can wait for it to start) and then runs the real one.
    const python = join(dir, 'python-pid');
    const pidFile = join(dir, 'python.pid');
    await writeFile(python, `#!/bin/sh\necho $$ > '${pidFile}.tmp' && mv '${pidFile}.tmp' '${pidFile}'\nexec ${DEFAULT_PYTHON} -c 'import time; time.sleep(600)' "$@"\n`);
    await chmod(python, 0o755);
    const outDir = join(dir, 'aborted');
    const controller = new AbortController();
    const watcher = watch(dir);
    const started = (async () => {
      for (;;) {
        const [, name] = (await once(watcher, 'change')) as [string, string];
        if (name === 'python.pid') return Number((await readFile(pidFile, 'utf8')).trim());
      }
    })();
    const training = trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), outDir, python, signal: controller.signal });
    const pid = await started;
    watcher.close();
    controller.abort(new Error('stopped by the test'));
    await expect(training).rejects.toThrow('stopped by the test');
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await expect(readdir(outDir)).rejects.toThrow(/ENOENT/);
    expect(liveTemps()).toEqual([]);
  });
});

describe('a missing XGBoost', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('names the package to install when the python cannot be run', async () => {
    const outDir = join(dir, 'no-python');
    const training = trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), outDir, python: join(dir, 'no-such-python3') });
    await expect(training).rejects.toThrow(XgboostMissingError);
    await expect(training).rejects.toThrow(/no-such-python3 \(ENOENT\); install it with: apt-get install python3-xgboost/);
    await expect(readdir(outDir)).rejects.toThrow(/ENOENT/);
  });

  it('runs the python ESM2_PYTHON names when no python is given, and a given one over it', async () => {
    vi.stubEnv('ESM2_PYTHON', join(dir, 'esm2-python-missing'));
    const fromEnv = trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), outDir: join(dir, 'env-python') });
    await expect(fromEnv).rejects.toThrow(XgboostMissingError);
    await expect(fromEnv).rejects.toThrow(`cannot run ${join(dir, 'esm2-python-missing')} (ENOENT)`);
    await expect(readdir(join(dir, 'env-python'))).rejects.toThrow(/ENOENT/);
    const given = trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), outDir: join(dir, 'given-python'), python: join(dir, 'given-python-missing') });
    await expect(given).rejects.toThrow(`cannot run ${join(dir, 'given-python-missing')} (ENOENT)`);
  });

  it('names the package to install when python runs but cannot import xgboost', async () => {
    // The system python without its site packages (-S) cannot see Debian's dist-packages.
    const python = join(dir, 'python-bare');
    await writeFile(python, `#!/bin/sh\nexec ${DEFAULT_PYTHON} -I -S "$@"\n`);
    await chmod(python, 0o755);
    const training = trainGbdt({ schema: SCHEMA, train: batchesOf(TINY, 24), outDir: join(dir, 'bare'), python });
    await expect(training).rejects.toThrow(/cannot import: No module named '(numpy|xgboost)'; install it with: apt-get install python3-xgboost/);
  });
});
