import { DEFAULT_OPTIMIZER, MODEL_FILE, type ModelArtifact, type ScoreCollector } from '@esm2/core';
import { readArtifact } from '@esm2/core/node';
import { encodersForSchema, openDataset, type Encoders } from '@esm2/data';
import { join } from 'node:path';
import { modelOfArtifact } from './checkpoint.js';
import { DEFAULT_BACKEND, engineFactory } from './engines.js';
import { scoreDataset, type PredictionsHook } from './evaluate.js';

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
