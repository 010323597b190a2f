import { buildModel, hashString, initWeights, type EngineFactory, type HostTensor, type TrainingEngine } from '@esm2/core';
import type { EpochRun, EpochTrainerFactory, TrainedEpoch } from '@esm2/core/backend';
import { readArtifact } from '@esm2/core/node';
import { smallSchema } from '@esm2/core/testing';
import type { Batch } from '@esm2/data';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { fitLoop, readAhead } from './loop.js';
import { runPaths } from './run-dir.js';
import type { FitSettings } from './settings.js';
import { DEFAULT_OPTIMIZER, parseModelConfig } from '@esm2/core';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const schema = smallSchema();
const model = buildModel(schema, { model: 'esm2', towers: [4] });

/** Rows where pcvr = buy gives AUC 1; the fake engine's quality follows a script per epoch. */
function batchOf(size: number): Batch {
  const click = Float32Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const buy = Float32Array.from({ length: size }, (_, i) => (i % 4 === 0 ? 1 : 0));
  return {
    size,
    features: {
      user: new Int32Array(size),
      item: new Int32Array(size),
      tags: new Int32Array(size * 3).fill(-1),
      price: new Float32Array(size),
      age: new Float32Array(size),
    },
    labels: { click, daction: buy.slice(), buy },
  };
}

/** A stand-in engine (no backend at all): proves the loop needs only the EngineFactory contract. */
function fakeFactory(qualityByEpoch: number[], shiftByEpoch: number[] = []): EngineFactory & { steps: number } {
  const f = {
    name: 'fake',
    steps: 0,
    async create(): Promise<TrainingEngine> {
      let steps = 0;
      return {
        name: 'fake',
        description: 'fake engine for tests',
        async step() {
          steps++;
          f.steps++;
          return { losses: { loss: 1 / steps, loss_ctr: 0, loss_ctavr: 0, loss_ctcvr: 0 } };
        },
        async predict(feeds: Record<string, HostTensor>, outputs: string[]) {
          const buy = feeds.buy!.data;
          const epoch = Math.ceil(steps / 2);
          const q = qualityByEpoch[epoch - 1] ?? 0;
          // Score = q·label + (1−q)·noise: q = 1 ranks perfectly, q = 0 ranks by an unrelated pattern.
          // A shift moves every score up alike: the ranking (AUCs) stays, the loglosses worsen.
          const shift = shiftByEpoch[epoch - 1] ?? 0;
          const score = Float32Array.from(buy, (b, i) => Math.min(0.999, shift + 0.1 + 0.8 * (q * b + (1 - q) * ((i * 7) % 5) / 5)));
          return Object.fromEntries(outputs.map((o) => [o, score]));
        },
        getWeights: () => initWeights(model.graph, 1),
        getState: () => new Map([['step', { dtype: 'i32', shape: [], data: Int32Array.of(steps) }]]),
        setState: (s) => void (steps = s.get('step')!.data[0]!),
        dispose() {},
      };
    },
  };
  return f;
}

/** A run's settings as these tests train it: a tiny ESM2 on the fake engine, with validation data; `over` changes what a test is about. */
function settingsWith(over: Partial<FitSettings>): FitSettings {
  return {
    train: 'train.csv',
    valid: 'valid.csv',
    model: parseModelConfig({ model: 'esm2', towers: [4] }),
    optimizer: DEFAULT_OPTIMIZER,
    epochs: 2,
    batchSize: 16,
    seed: 1,
    shuffleBuffer: 10,
    backend: 'fake',
    ...over,
  };
}

async function* twoBatches(): AsyncGenerator<Batch> {
  yield batchOf(16);
  yield batchOf(16);
}

describe('fitLoop (backend-neutral)', () => {
  it('validates each epoch, keeps the best artifact, stops early, and checkpoints its position', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
    dirs.push(dir);
    const paths = runPaths(dir);
    const settings = settingsWith({ epochs: 10, earlyStop: { metric: 'cvr_auc', patience: 2 } });
    const factory = fakeFactory([0.2, 0.9, 0.5, 0.4, 1]);
    const outcome = await fitLoop({
      factory,
      model,
      schema,
      encoders: null,
      settings,
      paths,
      trainBatches: () => twoBatches(),
      validBatches: () => twoBatches(),
      start: { weights: initWeights(model.graph, 1) },
    });
    expect(outcome.position.epoch).toBe(4);
    expect(outcome.position.stopped).toBe(true);
    expect(outcome.position.best?.epoch).toBe(2);
    expect(factory.steps).toBe(8);
    const history = JSON.parse(await readFile(paths.history, 'utf8')) as { epoch: number; cvr_auc: number; train_loss: number }[];
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(history[1]!.cvr_auc).toBeGreaterThan(history[0]!.cvr_auc);
    expect((await readArtifact(paths.best)).metadata.epoch).toBe(2);
    const ckpt = await readCheckpoint(paths.checkpoint);
    expect(ckpt.position.epoch).toBe(4);
    expect(ckpt.position.step).toBe(8);
    expect(ckpt.state.get('step')!.data[0]).toBe(8);
  });

  it('says "early stop" only when it stopped before the last epoch', async () => {
    const run = async (epochs: number) => {
      const dir = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
      dirs.push(dir);
      const settings = settingsWith({ epochs, earlyStop: { metric: 'cvr_auc', patience: 2 } });
      const logs: string[] = [];
      // cvr_auc by epoch: 0.2, 0.9 (best), 0.5, 0.4 → patience runs out after epoch 4.
      const outcome = await fitLoop({
        factory: fakeFactory([0.2, 0.9, 0.5, 0.4, 1]),
        model,
        schema,
        encoders: null,
        settings,
        paths: runPaths(dir),
        reporter: { log: (m) => logs.push(m) },
        trainBatches: () => twoBatches(),
        validBatches: () => twoBatches(),
        start: { weights: initWeights(model.graph, 1) },
      });
      return { outcome, early: logs.filter((l) => l.startsWith('early stop')) };
    };
    const last = await run(4);
    expect(last.outcome.position.epoch).toBe(4);
    expect(last.outcome.position.stopped).toBe(false);
    expect(last.early).toEqual([]);
    const before = await run(5);
    expect(before.outcome.position.epoch).toBe(4);
    expect(before.outcome.position.stopped).toBe(true);
    expect(before.early).toEqual(['early stop: cvr_auc has not improved for 2 epoch(s); best epoch 2']);
  });

  it('keeps the latest epoch as best when the selection metric is undefined (no buyers in the validation data), and refuses to stop early on it', async () => {
    async function* noBuyers(): AsyncGenerator<Batch> {
      const b = batchOf(16);
      yield { ...b, labels: { click: b.labels.click, daction: new Float32Array(16), buy: new Float32Array(16) } };
    }
    const dir = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
    dirs.push(dir);
    const settings = settingsWith({});
    const logs: string[] = [];
    const base = { model, schema, encoders: null, trainBatches: () => twoBatches(), validBatches: () => noBuyers(), start: { weights: initWeights(model.graph, 1) } };
    const outcome = await fitLoop({ ...base, factory: fakeFactory([0.5, 0.5]), settings, paths: runPaths(dir), reporter: { log: (m) => logs.push(m) } });
    expect(outcome.position.epoch).toBe(2);
    expect((await readArtifact(runPaths(dir).best)).metadata.epoch).toBe(2);
    expect(logs.filter((l) => l.startsWith('warning: ctcvr_auc is undefined'))).toHaveLength(1);

    const dir2 = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
    dirs.push(dir2);
    await expect(
      fitLoop({ ...base, factory: fakeFactory([0.5]), settings: { ...settings, earlyStop: { metric: 'ctcvr_auc', patience: 1 } }, paths: runPaths(dir2) }),
    ).rejects.toThrow(/cannot stop early: ctcvr_auc is undefined on the validation data valid\.csv/);
  });

  it('picks the best epoch by the summed entire-space logloss when selectBy is logloss, not by a better-ranking but worse-calibrated epoch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
    dirs.push(dir);
    const settings = settingsWith({ selectBy: 'logloss' });
    // Epoch 1 ranks worse; epoch 2 ranks better, but every score is shifted up by 0.6.
    const outcome = await fitLoop({
      factory: fakeFactory([0.2, 0.9], [0, 0.6]),
      model,
      schema,
      encoders: null,
      settings,
      paths: runPaths(dir),
      trainBatches: () => twoBatches(),
      validBatches: () => twoBatches(),
      start: { weights: initWeights(model.graph, 1) },
    });
    const history = JSON.parse(await readFile(runPaths(dir).history, 'utf8')) as { ctcvr_auc: number; logloss: Record<string, number> }[];
    const summed = history.map((h) => h.logloss.ctr! + h.logloss.ctavr! + h.logloss.ctcvr!);
    // The premise: the epochs disagree (epoch 2 best by CTCVR AUC, epoch 1 by the loglosses).
    expect(history[1]!.ctcvr_auc).toBeGreaterThan(history[0]!.ctcvr_auc);
    expect(summed[1]).toBeGreaterThan(summed[0]!);
    expect(outcome.position.best).toEqual({ epoch: 1, value: summed[0], metric: 'logloss' });
    expect((await readArtifact(runPaths(dir).best)).metadata.epoch).toBe(1);
  });

  it('refuses early stopping without validation data', async () => {
    const settings = { epochs: 1, earlyStop: { metric: 'ctcvr_auc', patience: 1 }, optimizer: DEFAULT_OPTIMIZER } as FitSettings;
    await expect(
      fitLoop({ factory: fakeFactory([]), model, schema, encoders: null, settings, paths: runPaths('/nonexistent'), trainBatches: () => twoBatches(), start: { weights: new Map() } }),
    ).rejects.toThrow(/needs validation data/);
  });
});

describe('fitLoop with an epoch trainer (@esm2/core/backend)', () => {
  it('hands it the run as the spec describes it, records its epochs, and refuses a diverged epoch before saving it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-loop-'));
    dirs.push(dir);
    const paths = runPaths(dir);
    const settings = settingsWith({ epochs: 3, seed: 5 });
    const weights = initWeights(model.graph, 1);
    const scoring = fakeFactory([0.5, 0.5, 0.5]);
    const runs: EpochRun[] = [];
    const factory: EpochTrainerFactory = {
      kind: 'epochs',
      name: 'fake-epochs',
      scoring,
      check: () => Promise.resolve(),
      create: (run) => {
        runs.push(run);
        return Promise.resolve({
          name: 'fake-epochs',
          description: 'fake epoch trainer for tests',
          async *epochs(position): AsyncGenerator<TrainedEpoch> {
            const model = await scoring.create({ model: run.model, weights: run.weights, optimizer: run.optimizer });
            position.step += 10;
            position.trainRows = 40;
            yield { epoch: 1, losses: { loss: 0.5, loss_ctr: 0.25 }, rows: 40, seconds: 2, model };
            position.step += 10;
            yield { epoch: 2, losses: { loss: Number.NaN }, rows: 40, seconds: 2, model };
            throw new Error('not reached: the loop stops at the diverged epoch');
          },
          dispose() {},
        });
      },
    };
    await expect(
      fitLoop({ factory, model, schema, encoders: null, settings, paths, trainBatches: () => twoBatches(), validBatches: () => twoBatches(), start: { weights } }),
    ).rejects.toThrow('training diverged: loss is NaN in epoch 2; lower --lr or set optimizer.clipNorm');
    const [run] = runs;
    expect(run).toMatchObject({ data: 'train.csv', batchSize: 16, epochs: 3, optimizer: DEFAULT_OPTIMIZER, model, weights, scratchDir: join(dir, 'fake-epochs') });
    expect(run!.state).toBeUndefined();
    expect([run!.seed(1), run!.seed(2)]).toEqual([hashString('epoch-1', 5), hashString('epoch-2', 5)]);
    // Epoch 1 is validated, saved and checkpointed as a step engine's would be; epoch 2 is not.
    const history = JSON.parse(await readFile(paths.history, 'utf8')) as { epoch: number; train_loss: number; train_losses: Record<string, number>; samples_per_s: number }[];
    expect(history).toMatchObject([{ epoch: 1, train_loss: 0.5, train_losses: { loss: 0.5, loss_ctr: 0.25 }, samples_per_s: 20 }]);
    const ckpt = await readCheckpoint(paths.checkpoint);
    expect(ckpt.position).toMatchObject({ epoch: 1, step: 10, trainRows: 40 });
  });
});

describe('readAhead', () => {
  const batch = (size: number): Batch => ({ size, features: {}, labels: { click: new Float32Array(size), daction: new Float32Array(size), buy: new Float32Array(size) } });
  /** Batches of sizes 1..n; `log` records when each is asked for and whether the iterator was closed. */
  function source(n: number, log: string[], failAt?: number): AsyncIterable<Batch> {
    return {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: () => {
            i++;
            log.push(`read ${i}`);
            if (i === failAt) return Promise.reject(new Error(`bad row in batch ${i}`));
            return Promise.resolve(i <= n ? { done: false, value: batch(i) } : { done: true, value: undefined });
          },
          return: () => {
            log.push('closed');
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  it('asks for the next batch while a step runs, yields every batch once in order, and closes the source', async () => {
    const log: string[] = [];
    const sizes: number[] = [];
    for await (const { batch: b, result } of readAhead(source(3, log), (b) => {
      log.push(`step ${b.size}`);
      return Promise.resolve(b.size * 10);
    })) {
      sizes.push(b.size);
      expect(result).toBe(b.size * 10);
    }
    expect(sizes).toEqual([1, 2, 3]);
    // Batch k + 1 is asked for right after step k started, before its result is used.
    expect(log).toEqual(['read 1', 'step 1', 'read 2', 'step 2', 'read 3', 'step 3', 'read 4', 'closed']);
  });

  it('a failing step surfaces as itself (the batch read ahead does not hide it) and closes the source; so does a failing read', async () => {
    const log: string[] = [];
    const steps = readAhead(source(5, log), (b) => (b.size === 2 ? Promise.reject(new Error('diverged at 2')) : Promise.resolve(b.size)));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const { batch: b } of steps) seen.push(b.size);
      })(),
    ).rejects.toThrow('diverged at 2');
    expect(seen).toEqual([1]);
    expect(log.at(-1)).toBe('closed');
    const readLog: string[] = [];
    await expect(
      (async () => {
        for await (const _ of readAhead(source(5, readLog, 3), (b) => Promise.resolve(b.size))) void _;
      })(),
    ).rejects.toThrow('bad row in batch 3');
  });
});
