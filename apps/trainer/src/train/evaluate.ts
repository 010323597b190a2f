import { DEFAULT_OPTIMIZER, MODEL_FILE, ScoreCollector, type Esm2Metrics, type ModelArtifact, type TrainingEngine, type ZooModel } from '@esm2/core';
import { readArtifact } from '@esm2/core/node';
import { batchToFeeds, encodersForSchema, openDataset, type Batch, type Encoders } from '@esm2/data';
import { join } from 'node:path';
import { modelOfArtifact } from './checkpoint.js';
import { DEFAULT_BACKEND, engineFactory } from './engines.js';

/** Sees each batch with its predictions, in order (e.g. to keep the scores). */
export type PredictionsHook = (batch: Batch, predictions: Record<string, Float32Array>) => void;

/**
 * Scores a whole dataset once and keeps every row's predictions, labels,
 * user and (synthetic data) true probabilities in a ScoreCollector: the
 * metrics (`collector.evaluate()`) and anything else drawn from the scores
 * (ROC and calibration curves for a report) then come from the same pass.
 */
export async function scoreDataset(engine: Pick<TrainingEngine, 'predict'>, model: ZooModel, batches: AsyncIterable<Batch>, onPredictions?: PredictionsHook): Promise<ScoreCollector> {
  const collector = new ScoreCollector();
  for await (const batch of batches) {
    const predictions = await engine.predict(batchToFeeds(model.graph, batch), model.predictions);
    onPredictions?.(batch, predictions);
    const truth = Object.fromEntries(Object.entries(batch.truth ?? {}).filter(([, v]) => v !== undefined)) as Record<string, Float32Array>;
    collector.add({
      predictions,
      click: batch.labels.click,
      daction: batch.labels.daction,
      buy: batch.labels.buy,
      ...(batch.userIds ? { userId: batch.userIds } : {}),
      ...(Object.keys(truth).length > 0 ? { truth } : {}),
    });
  }
  if (collector.length === 0) throw new Error('the evaluation data has no rows');
  return collector;
}

/**
 * Scores a whole dataset and computes the ESM2 metrics once over all of it
 * (exact AUCs, never an average of per-batch values). Oracle AUCs come for
 * free when the batches carry true probabilities.
 */
export async function evaluateDataset(engine: Pick<TrainingEngine, 'predict'>, model: ZooModel, batches: AsyncIterable<Batch>, onPredictions?: PredictionsHook): Promise<Esm2Metrics> {
  return (await scoreDataset(engine, model, batches, onPredictions)).evaluate();
}

/** A saved artifact scored on a labelled file (scoreArtifact): the scores, the engine that made them and the encoders that read the file. */
export interface ScoredArtifact {
  scores: ScoreCollector;
  /** The scoring engine's description. */
  engine: string;
  encoders: Encoders;
  artifact: ModelArtifact;
}

/**
 * Scores a saved artifact (a run's best/ or checkpoint/) on a labelled
 * .csv/.tsv/.parquet file read with the artifact's own encoders, as `eval`
 * does: ids the encoders do not know read as the out-of-vocabulary row.
 * `onEncoders` sees the encoders before the first row is read.
 */
export async function scoreArtifact(
  artifactDir: string,
  data: string,
  options: { backend?: string; threads?: number; batchSize?: number; onPredictions?: PredictionsHook; onEncoders?: (encoders: Encoders) => void } = {},
): Promise<ScoredArtifact> {
  const artifact = await readArtifact(artifactDir);
  if (artifact.encoders === null) throw new Error(`${artifactDir}: the artifact carries no data encoders, so raw files cannot be read for it`);
  const encoders = encodersForSchema(artifact.encoders, artifact.schema, join(artifactDir, MODEL_FILE));
  options.onEncoders?.(encoders);
  const model = modelOfArtifact(artifact);
  const factory = await engineFactory(options.backend ?? DEFAULT_BACKEND, { threads: options.threads ?? 2, spinning: false });
  const engine = await factory.create({ model, weights: artifact.weights, optimizer: DEFAULT_OPTIMIZER });
  try {
    const scores = await scoreDataset(engine, model, openDataset(data, { encoders, batchSize: options.batchSize ?? 4096 }), options.onPredictions);
    return { scores, engine: engine.description, encoders, artifact };
  } finally {
    engine.dispose();
  }
}
