import { artifactFromModel, initWeights, MODEL_FILE, type ModelArtifact } from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { treeDigest } from '@esm2/core/testing';
import { vocabularyRowChanges, writeSynthetic } from '@esm2/data';
import { Scorer } from '@esm2/scorer';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fit, type FitOptions } from '../api.js';
import { runTrainer } from '../test-support/cli.js';
import { readCheckpoint } from '../train/checkpoint.js';
import type { Lineage } from '../train/lineage.js';
import { readWarmParent, warmSettings, warmStartFrom } from '../train/warm-start.js';
import { worstWeight } from '../test-support/weights.js';

/** A small world (few users and items) so that a day's rows meet both known and new ids. */
const sizes = { users: 150, items: 200, categories: 20, shops: 50, brands: 30, tags: 10, cities: 10 };
const SMALL = { model: 'esm2' as const, epochs: 2, batchSize: 50, towers: [8], embeddingDim: 4, seed: 3, workers: 1, lr: 0.01 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-warm-'));
  for (const day of [0, 1, 2]) await writeSynthetic(join(dir, `day${day}.csv`), { rows: 400, seed: 10 + day, worldSeed: 9, sizes });
  await fit({ ...SMALL, train: join(dir, 'day0.csv'), out: join(dir, 'runs/parent') });
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

type EncodersDoc = { version: number; day?: number; vocabularies: Record<string, (string | null)[]>; lastSeen?: Record<string, number[]> };
const encodersOf = (a: ModelArtifact) => a.encoders as EncodersDoc;
const lineageOf = (a: ModelArtifact) => (a.metadata as { lineage?: Lineage }).lineage;
const csvRows = async (file: string) => {
  const [header, ...lines] = (await readFile(join(dir, file), 'utf8')).trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [columns[i]!, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])));
};
async function scores(artifact: string, rows: Record<string, unknown>[]): Promise<Record<string, number>[]> {
  const scorer = await Scorer.load(artifact);
  try {
    return (await scorer.score(rows));
  } finally {
    await scorer.close();
  }
}
const warm = (out: string, extra: Partial<FitOptions> = {}) => fit({ train: join(dir, 'day1.csv'), out: join(dir, out), warmStart: join(dir, 'runs/parent'), ...extra });

describe('fit --warm-start (onnx engine)', () => {
  it('0 training steps: every old id keeps its index and scores exactly as in the parent; new ids get rows; unseen ids the OOV row', async () => {
    // "0 steps": the warm start's own preparation (parent read, encoders extended on day 1, weights and optimizer state
    // grown), written as an artifact without training a step: what the first step would start from.
    const parent = await readWarmParent(join(dir, 'runs/parent'));
    const logs: string[] = [];
    const settings = warmSettings(parent, {}, join(dir, 'day1.csv'), undefined, (m) => logs.push(m));
    const start = await warmStartFrom(parent, settings, {}, (m) => logs.push(m));
    const zero = join(dir, 'zero-steps');
    await writeArtifact(zero, artifactFromModel(start.model, start.schema, start.start.weights, { encoders: start.encoders, metadata: { lineage: start.lineage } }));
    expect(logs.join('\n')).toMatch(/warm start from .*runs\/parent\/checkpoint \(optimizer step 16\), day 0/);
    expect(start.start.state!.get('step')!.data[0]).toBe(16); // 400 rows / 50 × 2 epochs: the step count kept

    const [before, after] = [encodersOf(parent.artifact), start.encoders as EncodersDoc];
    let added = 0;
    for (const [field, ids] of Object.entries(before.vocabularies)) {
      // Every known id at its index (row i + 1), no eviction asked for.
      expect(after.vocabularies[field]!.slice(0, ids.length), field).toEqual(ids);
      added += after.vocabularies[field]!.length - ids.length;
    }
    expect(after.vocabularies['user_id']!.length).toBeGreaterThan(before.vocabularies['user_id']!.length);

    // Scored from raw rows by esm2-score's Scorer: the parent's best/ (its last epoch, as its checkpoint) and the grown model.
    const rows = await csvRows('day1.csv');
    const unseen = rows.slice(0, 5).map((r) => ({ ...r, user_id: 'never-seen-user', item_id: 'never-seen-item' }));
    const [p, c] = [await scores(join(dir, 'runs/parent/best'), [...rows, ...unseen]), await scores(zero, [...rows, ...unseen])];
    const known = Object.fromEntries(Object.entries(before.vocabularies).map(([f, ids]) => [f, new Set(ids.map(String))]));
    const isOld = (r: Record<string, unknown>) => Object.entries(known).every(([f, ids]) => String(r[f]).split('|').every((v) => v === '' || ids.has(v)));
    let old = 0;
    let changed = 0;
    for (const [i, r] of [...rows, ...unseen].entries()) {
      if (isOld(r) || i >= rows.length) {
        old++;
        for (const k of ['pctr', 'pctavr', 'pcvr', 'pctcvr']) expect(c[i]![k], `row ${i} ${k}`).toBe(p[i]![k]);
      } else if (c[i]!['pctr'] !== p[i]!['pctr']) changed++;
    }
    expect(added).toBeGreaterThan(0);
    expect(old).toBeGreaterThan(5);
    // Rows with a new id read its new row (initialised, not the OOV row): their scores move.
    expect(changed).toBeGreaterThan(0);
  });

  it('trains on the new day: lineage in best/ and checkpoint/, a new run position, the step count continued; ordinary fits carry no lineage', async () => {
    const r = await warm('runs/warm-full', { epochs: 2 });
    const ckpt = await readCheckpoint(r.checkpoint);
    expect(ckpt.position).toMatchObject({ epoch: 2, step: 16 });
    expect(ckpt.state.get('step')!.data[0]).toBe(32);
    const best = await readArtifact(r.bestArtifact);
    const lineage = lineageOf(best)!;
    const parentSha = (await import('node:crypto')).createHash('sha256').update(await readFile(join(dir, 'runs/parent/checkpoint', MODEL_FILE))).digest('hex');
    expect(lineage).toMatchObject({ parent: { path: join(dir, 'runs/parent/checkpoint'), sha256: parentSha }, data: [join(dir, 'day1.csv')], ancestors: [] });
    expect(lineageOf(ckpt.artifact)).toEqual(lineage);
    expect(r.settings).toMatchObject({ model: { towers: [8], embeddingDim: 4 }, optimizer: { lr: 0.01 }, seed: 3, batchSize: 50 });
    // From best/ (weights, no optimizer state): fresh state, said in the log; the lineage names best/.
    const logs: string[] = [];
    const fromBest = await warm('runs/warm-from-best', { epochs: 1, warmStart: join(dir, 'runs/parent/best'), reporter: { log: (m) => logs.push(m) } });
    expect(logs.join('\n')).toContain('it holds no optimizer state: fresh state');
    const bestCkpt = await readCheckpoint(fromBest.checkpoint);
    expect(bestCkpt.state.get('step')!.data[0]).toBe(8);
    expect(lineageOf(bestCkpt.artifact)!.parent.path).toBe(join(dir, 'runs/parent/best'));
    const plain = await readArtifact(join(dir, 'runs/parent/best'));
    // An ordinary run's metadata: the keys it always had, no lineage.
    expect(Object.keys(plain.metadata as object)).toEqual(['createdAt', 'kind', 'epoch', 'engine', 'settings', 'metrics']);
    expect(Object.keys((await readCheckpoint(join(dir, 'runs/parent/checkpoint'))).artifact.metadata as object)).toEqual(['createdAt', 'kind', 'engine', 'settings', 'position']);
    expect(encodersOf(plain).version).toBe(1);
  });

  it('resume and warm start compose: stopped after epoch 1 and resumed equals the uninterrupted warm start; a resumed run warm-starts the next day', async () => {
    await warm('runs/warm-full-ref', { epochs: 2 });
    const stopped = await warm('runs/warm-stopped', { epochs: 1 });
    expect((await readCheckpoint(stopped.checkpoint)).position.epoch).toBe(1);
    const logs: string[] = [];
    await fit({ out: join(dir, 'runs/warm-stopped'), resume: true, epochs: 2, warmStart: join(dir, 'runs/parent'), reporter: { log: (m) => logs.push(m) } });
    expect(logs.join('\n')).toContain('--resume: ignoring --warm-start; the run keeps its saved settings (its warm start is not redone)');
    const [got, want] = await Promise.all(['runs/warm-stopped', 'runs/warm-full-ref'].map((d) => readCheckpoint(join(dir, d, 'checkpoint'))));
    expect(got!.position.step).toBe(16);
    expect(worstWeight(got!.artifact, want!.artifact)).toBe(0);
    expect(got!.state).toEqual(want!.state);
    expect(lineageOf(got!.artifact)).toEqual(lineageOf(want!.artifact));

    // Day 2 from the resumed run: its lineage names it, and its parent as an ancestor.
    const next = await fit({ train: join(dir, 'day2.csv'), out: join(dir, 'runs/warm-day2'), warmStart: join(dir, 'runs/warm-stopped'), epochs: 1 });
    const lineage = lineageOf(await readArtifact(next.bestArtifact))!;
    expect(lineage.parent.path).toBe(join(dir, 'runs/warm-stopped/checkpoint'));
    expect(lineage.ancestors.map((a) => a.path)).toEqual([join(dir, 'runs/parent/checkpoint')]);
    expect(lineage.day).toBe(lineage.parent.day! + 1);
  });

  it('eviction is deterministic and recorded: two identical warm starts give identical encoders, lineage and weights; evicted rows start as a new run', async () => {
    const args = (out: string) => ['fit', '--data', join(dir, 'day1.csv'), '--out', join(dir, out), '--warm-start', join(dir, 'runs/parent'), '--epochs', '1', '--day', '5', '--max-ids', 'user_id=100,item_id=120', '--evict-after', '3'];
    const [a, b] = [await runTrainer(...args('runs/evict-a')), await runTrainer(...args('runs/evict-b'))];
    expect(a.err).toBe('');
    expect(b.err).toBe('');
    const [ra, rb] = await Promise.all(['runs/evict-a', 'runs/evict-b'].map((d) => readArtifact(join(dir, d, 'best'))));
    expect(JSON.stringify(ra!.encoders)).toBe(JSON.stringify(rb!.encoders));
    expect(lineageOf(ra!)).toEqual(lineageOf(rb!));
    expect(worstWeight(ra!, rb!)).toBe(0);
    const enc = encodersOf(ra!);
    const growth = lineageOf(ra!)!.growth!;
    expect(growth['user_id']!.evicted).toBeGreaterThan(0);
    expect(growth['user_id']!.evictedIds.length).toBeGreaterThan(0);
    expect(a.logs).toMatch(/user_id: \d+ rows; \d+ known, \d+ added, \d+ reused, [1-9]\d* evicted/);
    // The limits are kept in the encoders (the next warm start applies them unless given again), and no more ids than allowed.
    expect(enc).toMatchObject({ version: 2, day: 5, limits: { maxIds: { user_id: 100, item_id: 120 }, evictAfterDays: 3 } });
    expect(enc.vocabularies['user_id']!.filter((v) => v !== null).length).toBeLessThanOrEqual(100);
    for (const id of growth['user_id']!.evictedIds) expect(enc.vocabularies['user_id']).not.toContain(id);

    // Evicted and reused rows start as a new run's (0 steps, the same flags through fit()'s pieces).
    const parent = await readWarmParent(join(dir, 'runs/parent'));
    const settings = warmSettings(parent, {}, join(dir, 'day1.csv'), undefined, () => undefined);
    const start = await warmStartFrom(parent, settings, { day: 5, maxIds: { user_id: 100, item_id: 120 }, evictAfterDays: 3 }, () => undefined);
    expect(JSON.stringify(start.encoders)).toBe(JSON.stringify(ra!.encoders));
    const fresh = initWeights(start.model.graph, settings.seed).get('emb/user_id')!;
    const grown = start.start.weights.get('emb/user_id')!;
    const old = parent.artifact.weights.get('emb/user_id')!;
    const dim = 4;
    const changes = vocabularyRowChanges(parent.artifact.encoders, start.encoders).get('user_id')!;
    const reinit = [...changes.fresh].filter((r) => r * dim < old.length);
    expect(reinit.length).toBeGreaterThan(0);
    for (const r of changes.fresh) expect(grown.subarray(r * dim, (r + 1) * dim)).toEqual(fresh.subarray(r * dim, (r + 1) * dim));
    const kept = new Set(changes.fresh);
    for (let r = 0; r * dim < old.length; r++) if (!kept.has(r)) expect(grown.subarray(r * dim, (r + 1) * dim)).toEqual(old.subarray(r * dim, (r + 1) * dim));
    // Their optimizer state starts at zero; known rows keep theirs.
    const m = start.start.state!.get('adam/m/emb/user_id')!.data;
    for (const r of reinit) expect(Array.from(m.subarray(r * dim, (r + 1) * dim))).toEqual([0, 0, 0, 0]);
  });

  it('refuses, before anything is written: an architecture flag, a run directory already holding a run, encoded data not extending the parent, growth flags with encoded data', async () => {
    const inputs = await Promise.all([join(dir, 'runs/parent'), join(dir, 'day1.csv')].map(treeDigest));
    const towers = await runTrainer('fit', '--data', join(dir, 'day1.csv'), '--out', join(dir, 'runs/towers'), '--warm-start', join(dir, 'runs/parent'), '--towers', '16', '--embedding-dim', '4');
    expect(towers.code).toBe(1);
    expect(towers.err).toContain(`--warm-start ${join(dir, 'runs/parent/checkpoint')}: its model has towers 8, --towers 16 would change the architecture`);
    const same = await runTrainer('fit', '--data', join(dir, 'day1.csv'), '--out', join(dir, 'runs/parent'), '--warm-start', join(dir, 'runs/parent'));
    expect(same.code).toBe(1);
    expect(same.err).toMatch(/--out .*runs\/parent.*--warm-start/);
    const daction = await runTrainer('fit', '--data', join(dir, 'day1.csv'), '--out', join(dir, 'runs/daction'), '--warm-start', join(dir, 'runs/parent'), '--daction', 'click');
    expect(daction.code).toBe(1);
    expect(daction.err).toContain(`--warm-start ${join(dir, 'runs/parent/checkpoint')} was trained with DAction = daction; --daction click would change what its towers learnt`);
    // A directory holding a run (a copy of the parent's checkpoint): a warm start is a new run.
    await cp(join(dir, 'runs/parent/checkpoint'), join(dir, 'runs/holder/checkpoint'), { recursive: true });
    const holderBefore = await treeDigest(join(dir, 'runs/holder'));
    const holding = await runTrainer('fit', '--data', join(dir, 'day1.csv'), '--out', join(dir, 'runs/holder'), '--warm-start', join(dir, 'runs/parent'));
    expect(holding.code).toBe(1);
    expect(holding.err).toContain(`${join(dir, 'runs/holder')} already holds a run; a warm start trains a new run: choose another --out`);
    expect(await treeDigest(join(dir, 'runs/holder'))).toEqual(holderBefore);
    process.exitCode = undefined; // the refused runs' exit code (runCli sets it), not to be read as the next run's
    // day1 encoded with its own encoders (fitted afresh): its ids mean other things than the parent's.
    const own = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', join(dir, 'day1-own.enc'));
    expect(own.err).toBe('');
    expect(own.code).toBe(0);
    const enc = await runTrainer('fit', '--data', join(dir, 'day1-own.enc'), '--out', join(dir, 'runs/own'), '--warm-start', join(dir, 'runs/parent'));
    expect(enc.code).toBe(1);
    expect(enc.err).toContain(`--data ${join(dir, 'day1-own.enc')}: its encoders are not an extension of --warm-start ${join(dir, 'runs/parent/checkpoint')}'s: `);
    const day = await runTrainer('fit', '--data', join(dir, 'day1-own.enc'), '--out', join(dir, 'runs/day'), '--model', 'esm2', '--day', '3');
    expect(day.code).toBe(1);
    expect(day.err).toContain(`--day: ${join(dir, 'day1-own.enc')} is encoded with its own encoders; give these to esm2-train data encode`);
    expect(await Promise.all([join(dir, 'runs/parent'), join(dir, 'day1.csv')].map(treeDigest))).toEqual(inputs);
    for (const out of ['runs/towers', 'runs/own', 'runs/day', 'runs/daction']) await expect(readFile(join(dir, out, 'checkpoint', MODEL_FILE))).rejects.toThrow();
  });

  it('a directory from `data encode --warm-start` trains with the encoders the data file gets', async () => {
    const parent = await readArtifact(join(dir, 'runs/parent/checkpoint'));
    const encode = await runTrainer('data', 'encode', '--in', join(dir, 'day1.csv'), '--out', join(dir, 'day1.enc'), '--warm-start', join(dir, 'runs/parent'));
    expect(encode.err).toBe('');
    const [fromFile, fromEncoded] = [await warm('runs/warm-file', { epochs: 1 }), await warm('runs/warm-enc', { epochs: 1, train: join(dir, 'day1.enc') })];
    const [a, b] = await Promise.all([fromFile, fromEncoded].map((r) => readArtifact(r.bestArtifact)));
    expect(JSON.stringify(b!.encoders)).toBe(JSON.stringify(a!.encoders));
    expect(b!.weights.get('emb/user_id')!.length).toBeGreaterThan(parent.weights.get('emb/user_id')!.length);
    expect(lineageOf(b!)!.data).toEqual([join(dir, 'day1.enc')]);
  });

  it('the tfjs engine warm-starts too: the same grown start trains as on the onnx engine', async () => {
    // One epoch of 400 rows in batches of 100 (4 steps) from the same grown weights and optimizer state.
    const [onnx, tfjs] = [await warm('runs/warm-onnx-4', { epochs: 1, batchSize: 100 }), await warm('runs/warm-tfjs-4', { epochs: 1, batchSize: 100, backend: 'tfjs' })];
    const [a, b] = await Promise.all([onnx, tfjs].map((r) => readCheckpoint(r.checkpoint)));
    expect(tfjs.engine).toMatch(/tfjs/);
    expect(b!.position).toMatchObject({ epoch: 1, step: 4 });
    expect(b!.state.get('step')!.data[0]).toBe(20);
    expect(lineageOf(b!.artifact)).toEqual(lineageOf(a!.artifact));
    expect(worstWeight(a!.artifact, b!.artifact)).toBeLessThan(1e-5);
  });

  it('a new run with --day and --max-ids writes encoders that grow; a warm start from it keeps the limits and counts the days on', async () => {
    const first = await fit({ ...SMALL, epochs: 1, train: join(dir, 'day0.csv'), out: join(dir, 'runs/new-day0'), day: 0, maxIds: { user_id: 100 } });
    expect(encodersOf(await readArtifact(first.bestArtifact))).toMatchObject({ version: 2, day: 0, limits: { maxIds: { user_id: 100 } } });
    const next = await fit({ train: join(dir, 'day1.csv'), out: join(dir, 'runs/new-day1'), warmStart: first.dir, epochs: 1 });
    const a = await readArtifact(next.bestArtifact);
    expect(encodersOf(a)).toMatchObject({ version: 2, day: 1, limits: { maxIds: { user_id: 100 } } });
    expect(encodersOf(a).vocabularies['user_id']!.filter((v) => v !== null).length).toBeLessThanOrEqual(100);
    expect(lineageOf(a)).toMatchObject({ parent: { path: join(dir, 'runs/new-day0/checkpoint'), day: 0 }, day: 1 });
  });
});
