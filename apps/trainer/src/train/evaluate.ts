import { ScoreCollector, type Esm2Metrics, type TrainingEngine, type ZooModel } from '@esm2/core';
import { batchToFeeds, type Batch } from '@esm2/data';

/**
 * Scores a whole dataset and computes the ESM2 metrics once over all of it
 * (exact AUCs, never an average of per-batch values). Oracle AUCs come for
 * free when the batches carry true probabilities.
 */
export async function evaluateDataset(engine: TrainingEngine, model: ZooModel, batches: AsyncIterable<Batch>): Promise<Esm2Metrics> {
  const collector = new ScoreCollector();
  for await (const batch of batches) {
    const predictions = await engine.predict(batchToFeeds(model.graph, batch), model.predictions);
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
  return collector.evaluate();
}
