import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFunnelLabels, requireLittleEndianHost, ScoreCollector, zodProblems, type Esm2Metrics, type FeatureSchema } from '@esm2/core';
import { replaceDirAtomically, trackTemp, writeFileDurable } from '@esm2/core/node';
import type { Batch } from '@esm2/data';
import { z } from 'zod';
import { batchMatrix, Float32File, gbdtColumns, type GbdtColumn } from './matrix.js';
import { runScript, type RunOptions } from './python.js';

const paramsShape = z.strictObject({
  /** Boosting rounds (the most; early stopping may keep fewer). */
  numRounds: z.number().int().positive().default(200),
  maxDepth: z.number().int().positive().default(6),
  eta: z.number().positive().max(1).default(0.1),
  minChildWeight: z.number().nonnegative().default(1),
  /** Row and column sampling; below 1 they make `seed` matter. */
  subsample: z.number().positive().max(1).default(1),
  colsampleBytree: z.number().positive().max(1).default(1),
  maxBin: z.number().int().min(2).default(256),
  /** Categorical fields with fewer categories than this split one-hot, larger ones by category partitions. */
  maxCatToOnehot: z.number().int().positive().default(4),
  seed: z.number().int().nonnegative().default(0),
  /** XGBoost threads; 1 suits the 2-core machines this runs on next to other work. */
  nthread: z.number().int().positive().default(1),
  /** With validation data: stop after this many rounds without a better validation logloss. */
  earlyStoppingRounds: z.number().int().positive().default(10),
});

export type GbdtParams = z.infer<typeof paramsShape>;
export type GbdtParamsInput = z.input<typeof paramsShape>;

const modelSummary = z.strictObject({
  trainRows: z.number().int().nonnegative(),
  trainPositives: z.number().int().nonnegative(),
  /** The starting prediction: the training positive rate. */
  baseScore: z.number().gt(0).lt(1),
  validRows: z.number().int().nonnegative().nullable(),
  rounds: z.number().int().positive(),
  bestIteration: z.number().int().nonnegative(),
  trainLogloss: z.array(z.number()),
  validLogloss: z.array(z.number()).nullable(),
});
/** What training one of the two models reports: rows and positives it saw, rounds, per-round logloss. */
export type GbdtModelSummary = z.infer<typeof modelSummary>;

const trainResult = z.strictObject({ xgboostVersion: z.string(), ctr: modelSummary, cvr: modelSummary });

const columnShape = z.strictObject({
  name: z.string(),
  field: z.string(),
  slot: z.number().int().nonnegative().optional(),
  type: z.enum(['c', 'q']),
});

const metaShape = z.strictObject({
  format: z.literal('esm2-gbdt'),
  version: z.literal(1),
  xgboostVersion: z.string(),
  columns: z.array(columnShape).min(1),
  params: paramsShape,
  ctr: modelSummary,
  cvr: modelSummary,
});
/** `gbdt.json` in a model directory, next to `ctr.model.json` and `cvr.model.json` (XGBoost's own JSON). */
export type GbdtModelMeta = z.infer<typeof metaShape>;

export const META_FILE = 'gbdt.json';

export interface TrainGbdtOptions extends RunOptions {
  /** The encoded features' schema (`encoders.schema`): which batch features become which columns. */
  schema: FeatureSchema;
  train: Iterable<Batch> | AsyncIterable<Batch>;
  /** Early stopping data (both models: CTR on all its rows, CVR on its clicked rows). */
  valid?: Iterable<Batch> | AsyncIterable<Batch>;
  params?: GbdtParamsInput;
  /** The model directory; replaced as a whole only when training succeeded. */
  outDir: string;
}

export interface GbdtPredictions {
  rows: number;
  pctr: Float32Array;
  pcvr: Float32Array;
  /** pCTR × pCVR, row by row (the float32 product of the two float32 values). */
  pctcvr: Float32Array;
}

function checkLittleEndian(): void {
  requireLittleEndianHost('the GBDT baseline exchanges little-endian float32 files');
}

/** A scratch directory under the OS temp dir, removed afterwards (and on SIGINT/SIGTERM meanwhile). */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-gbdt-'));
  const untrack = trackTemp(dir);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrack();
  }
}

interface MatrixFiles {
  x: string;
  rows: number;
  click?: string;
  buy?: string;
}

/**
 * Streams batches into `<prefix>.x.f32` (the feature matrix) and, with
 * labels, `<prefix>.click.f32` / `<prefix>.buy.f32`; `onBatch` sees each
 * batch once it is written.
 */
async function writeMatrix(
  dir: string,
  prefix: string,
  columns: readonly GbdtColumn[],
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  what: string,
  withLabels: boolean,
  onBatch?: (batch: Batch) => void,
): Promise<MatrixFiles> {
  const files: MatrixFiles = { x: join(dir, `${prefix}.x.f32`), rows: 0 };
  const x = await Float32File.create(files.x);
  let click: Float32File | undefined;
  let buy: Float32File | undefined;
  try {
    if (withLabels) {
      files.click = join(dir, `${prefix}.click.f32`);
      files.buy = join(dir, `${prefix}.buy.f32`);
      click = await Float32File.create(files.click);
      buy = await Float32File.create(files.buy);
    }
    for await (const batch of batches) {
      const where = `${what} (batch starting at row ${files.rows})`;
      let matrix: Float32Array;
      try {
        matrix = batchMatrix(columns, batch);
        if (withLabels) checkFunnelLabels(where, batch.labels.click, batch.labels.daction, batch.labels.buy);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
      }
      await x.append(matrix);
      await click?.append(batch.labels.click);
      await buy?.append(batch.labels.buy);
      files.rows += batch.size;
      onBatch?.(batch);
    }
  } finally {
    await Promise.all([x.close(), click?.close(), buy?.close()]);
  }
  if (files.rows === 0) throw new Error(`${what} has no rows`);
  return files;
}

/**
 * Trains the GBDT baseline as the paper defines it: a CTR model on every
 * impression (label click) and a CVR model on the clicked impressions only
 * (label buy), both XGBoost binary:logistic on the project's encoded
 * features. `outDir` gets `ctr.model.json`, `cvr.model.json` and `gbdt.json`,
 * all at once or not at all.
 */
export async function trainGbdt(options: TrainGbdtOptions): Promise<GbdtModelMeta> {
  checkLittleEndian();
  const parsed = paramsShape.safeParse(options.params ?? {});
  if (!parsed.success) throw new Error(`invalid GBDT parameters: ${zodProblems(parsed.error).join('; ')}`);
  const params = parsed.data;
  const columns = gbdtColumns(options.schema);
  return withScratch(async (scratch) => {
    const train = await writeMatrix(scratch, 'train', columns, options.train, 'the GBDT training data', true);
    const valid = options.valid ? await writeMatrix(scratch, 'valid', columns, options.valid, 'the GBDT validation data', true) : undefined;
    let meta: GbdtModelMeta | undefined;
    await replaceDirAtomically(options.outDir, async (outDir) => {
      const job = { mode: 'train', columns, params, train, valid: valid ?? null, outDir };
      const jobPath = join(scratch, 'train-job.json');
      await writeFileDurable(jobPath, JSON.stringify(job));
      const raw = await runScript(jobPath, 'training', options);
      const result = trainResult.safeParse(raw);
      if (!result.success) throw new Error(`XGBoost training returned an unexpected result: ${zodProblems(result.error).join('; ')}`);
      const { xgboostVersion, ctr, cvr } = result.data;
      meta = { format: 'esm2-gbdt', version: 1, xgboostVersion, columns, params, ctr, cvr };
      await writeFileDurable(join(outDir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    });
    return meta!;
  });
}

/** Reads and checks a model directory's `gbdt.json`; errors name the file and the bad key. */
export async function readGbdtMeta(modelDir: string): Promise<GbdtModelMeta> {
  const path = join(modelDir, META_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: not found; is ${modelDir} a GBDT model directory (made by trainGbdt)?` : `${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = metaShape.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${zodProblems(parsed.error).join('; ')}`);
  return parsed.data;
}

async function readFloat32(path: string, rows: number): Promise<Float32Array> {
  const bytes = await readFile(path);
  if (bytes.byteLength !== rows * 4) throw new Error(`${path}: ${bytes.byteLength} bytes, expected ${rows} float32 predictions`);
  // A fresh copy: Buffer pools may not be 4-byte aligned.
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export interface PredictGbdtOptions extends RunOptions {
  /** Threads for prediction (default: the training nthread). */
  nthread?: number;
  /** Sees each batch once its features are written (to keep labels for scoring). */
  onBatch?: (batch: Batch) => void;
}

/** pCTR, pCVR and pCTCVR = pCTR × pCVR for every row of the batches, in order, from a model made by `trainGbdt`. */
export async function predictGbdt(
  modelDir: string,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: PredictGbdtOptions = {},
): Promise<GbdtPredictions> {
  checkLittleEndian();
  const meta = await readGbdtMeta(modelDir);
  return withScratch(async (scratch) => {
    const features = await writeMatrix(scratch, 'predict', meta.columns, batches, 'the GBDT prediction data', false, options.onBatch);
    const out = { ctr: join(scratch, 'pctr.f32'), cvr: join(scratch, 'pcvr.f32') };
    const job = {
      mode: 'predict',
      columns: meta.columns,
      params: { nthread: options.nthread ?? meta.params.nthread },
      features,
      modelDir,
      bestIteration: { ctr: meta.ctr.bestIteration, cvr: meta.cvr.bestIteration },
      out,
    };
    const jobPath = join(scratch, 'predict-job.json');
    await writeFileDurable(jobPath, JSON.stringify(job));
    await runScript(jobPath, 'prediction', options);
    const pctr = await readFloat32(out.ctr, features.rows);
    const pcvr = await readFloat32(out.cvr, features.rows);
    const pctcvr = new Float32Array(features.rows);
    for (let i = 0; i < pctcvr.length; i++) pctcvr[i] = pctr[i]! * pcvr[i]!;
    return { rows: features.rows, pctr, pcvr, pctcvr };
  });
}

/**
 * Scores a dataset with a GBDT model and keeps every row's predictions,
 * labels, user and (synthetic data) true probabilities in a ScoreCollector,
 * as the deep models' test pass does: metrics (`collector.evaluate()`, the
 * same code as every other model; no CTAVR, since the GBDT baseline has
 * none) and anything else drawn from the scores come from one pass.
 */
export async function scoreGbdt(
  modelDir: string,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: Omit<PredictGbdtOptions, 'onBatch'> = {},
): Promise<ScoreCollector> {
  const kept: Pick<Batch, 'size' | 'labels' | 'userIds' | 'truth'>[] = [];
  const p = await predictGbdt(modelDir, batches, {
    ...options,
    onBatch: (b) => kept.push({ size: b.size, labels: b.labels, userIds: b.userIds, truth: b.truth }),
  });
  const collector = new ScoreCollector(p.rows);
  let start = 0;
  for (const b of kept) {
    const end = start + b.size;
    const truth = Object.fromEntries(Object.entries(b.truth ?? {}).filter(([, v]) => v !== undefined)) as Record<string, Float32Array>;
    collector.add({
      predictions: { pctr: p.pctr.subarray(start, end), pcvr: p.pcvr.subarray(start, end), pctcvr: p.pctcvr.subarray(start, end) },
      click: b.labels.click,
      daction: b.labels.daction,
      buy: b.labels.buy,
      ...(b.userIds ? { userId: b.userIds } : {}),
      ...(Object.keys(truth).length > 0 ? { truth } : {}),
    });
    start = end;
  }
  return collector;
}

/** The ESM2 metrics of a GBDT model on a dataset: `scoreGbdt(…).evaluate()`. */
export async function evaluateGbdt(
  modelDir: string,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: Omit<PredictGbdtOptions, 'onBatch'> = {},
): Promise<Esm2Metrics> {
  return (await scoreGbdt(modelDir, batches, options)).evaluate();
}
