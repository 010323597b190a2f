import {
  artifactFromModel,
  type EngineState,
  type FeatureSchema,
  type ModelArtifact,
  type TrainingEngine,
  type ZooModel,
} from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { access, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FitSettings, LoopPosition } from './settings.js';
import type { Lineage } from './lineage.js';
import { jsonSafe } from './write-json.js';

export interface Checkpoint {
  artifact: ModelArtifact;
  model: ZooModel;
  state: EngineState;
  position: LoopPosition;
  settings: FitSettings;
  /** A warm-started run's lineage (train/warm-start.ts), carried into every artifact it writes. */
  lineage?: Lineage;
}

/** The model a (checkpoint or best) artifact holds, as the zoo would have built it. */
export function modelOfArtifact(artifact: ModelArtifact): ZooModel {
  const { config, predictions, towers, losses } = artifact.model;
  // towerRates only matter for a new run's start, never for a saved model's weights.
  return { graph: artifact.graph, config, predictions, towers, losses, towerRates: [] };
}

/** Weights + optimizer state + loop position, written atomically (core's writeArtifact): a kill leaves the previous checkpoint. */
export async function writeCheckpoint(
  dir: string,
  run: { model: ZooModel; schema: FeatureSchema; encoders: unknown; settings: FitSettings; lineage?: Lineage },
  engine: Pick<TrainingEngine, 'description' | 'getWeights' | 'getState'>,
  position: LoopPosition,
): Promise<void> {
  const artifact = artifactFromModel(run.model, run.schema, engine.getWeights(), {
    encoders: run.encoders,
    state: engine.getState(),
    metadata: jsonSafe({ kind: 'checkpoint', engine: engine.description, settings: run.settings, position, ...(run.lineage ? { lineage: run.lineage } : {}) }),
  });
  await writeArtifact(dir, artifact);
}

/** A checkpoint exists, or a swap of one was interrupted (core's atomic write leaves the previous one as `.NAME.old-…`, which readArtifact finds). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'model.json'));
    return true;
  } catch {
    const siblings = await readdir(dirname(dir)).catch(() => [] as string[]);
    return siblings.some((n) => n.startsWith(`.${basename(dir)}.old-`));
  }
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const artifact = await readArtifact(dir);
  const meta = artifact.metadata as { kind?: string; settings?: FitSettings; position?: LoopPosition; lineage?: Lineage };
  if (meta.kind !== 'checkpoint' || !meta.settings || !meta.position) throw new Error(`${dir} is a model artifact but not a training checkpoint`);
  if (!artifact.state) throw new Error(`${dir} holds no optimizer state`);
  return { artifact, model: modelOfArtifact(artifact), state: artifact.state, position: meta.position, settings: meta.settings, ...(meta.lineage ? { lineage: meta.lineage } : {}) };
}
