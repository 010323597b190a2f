import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportArtifactToOnnx } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { writeArtifact } from '@esm2/core/node';
import { fitEncoders, writeSynthetic, type Encoders } from '@esm2/data';

export interface Fixture {
  dir: string;
  /** Synthetic impressions (CSV) with a user/item key. */
  csv: string;
  parquet: string;
  /** Run directory as `esm2-train fit --out` leaves it: the artifact is in best/. */
  run: string;
  /** The artifact directory itself (run/best). */
  artifact: string;
  /** Its ONNX export. */
  onnx: string;
  encoders: Encoders;
  cleanup(): Promise<void>;
}

/**
 * A small but real pipeline: synthetic data → fitted encoders → ESM2 with
 * random weights in an artifact → ONNX export. Small towers keep it fast.
 */
export async function makeFixture(rows = 3000): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-scorer-'));
  const csv = join(dir, 'impressions.csv');
  const parquet = join(dir, 'impressions.parquet');
  const data = await writeSynthetic(csv, { rows, seed: 17 });
  await writeSynthetic(parquet, { rows, seed: 17 });
  const encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });
  const model = buildModel(encoders.schema, { towers: [32, 16] });
  const run = join(dir, 'runs', 'synthetic');
  const artifact = artifactFromModel(model, encoders.schema, initWeights(model.graph, 3), { encoders: encoders.toJSON() });
  await writeArtifact(join(run, 'best'), artifact);
  const onnx = join(dir, 'model.onnx');
  await exportArtifactToOnnx(artifact, onnx);
  return { dir, csv, parquet, run, artifact: join(run, 'best'), onnx, encoders, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
