import { ScoreCollector, type Esm2Metrics, type TrainingEngine, type ZooModel } from '@esm2/core';
import { batchToFeeds, type Batch } from '@esm2/data';

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
