import type { Weights } from '../ir/tensor.js';
import type { Graph } from '../ir/types.js';
import type { FeatureSchema } from '../schema.js';
import type { ModelConfig, ModelName } from '../zoo/config.js';
import type { PredictionName, ZooModel } from '../zoo/model.js';

/**
 * A tensor outside the model's parameters, e.g. optimizer moments or a step
 * counter in a training checkpoint. Unlike params it carries its own shape,
 * since no graph declares it.
 */
export type StateTensor = { dtype: 'f32'; shape: number[]; data: Float32Array } | { dtype: 'i32'; shape: number[]; data: Int32Array };

/** What the zoo says about the model, kept so backends need not rebuild it to know its outputs. */
export interface ArtifactModelInfo {
  /** The zoo model name; always equals `config.model`. */
  name: ModelName;
  config: ModelConfig;
  predictions: PredictionName[];
  towers: string[];
  losses: string[];
}

/** A model in memory, as `writeArtifact` takes it and `readArtifact` returns it. */
export interface ModelArtifact {
  model: ArtifactModelInfo;
  graph: Graph;
  schema: FeatureSchema;
  /** Opaque JSON owned by the data layer (vocabularies, normalisation stats); null when there is none. */
  encoders: unknown;
  /** Free JSON: created time, trainer info, metrics, epoch… */
  metadata: Record<string, unknown>;
  /** Exactly the graph's params, by name. */
  weights: Weights;
  /** Extra tensors (optimizer state). Present after a read only when the artifact carries some. */
  state?: Map<string, StateTensor>;
}

export interface ArtifactExtras {
  encoders?: unknown;
  /** Merged over a default `{ createdAt: <now, ISO> }`. */
  metadata?: Record<string, unknown>;
  state?: Map<string, StateTensor>;
}

/** Packages a zoo model with its schema and weights; the arrays are shared, not copied. */
export function artifactFromModel(model: ZooModel, schema: FeatureSchema, weights: Weights, extras: ArtifactExtras = {}): ModelArtifact {
  const artifact: ModelArtifact = {
    model: {
      name: model.config.model,
      config: model.config,
      predictions: [...model.predictions],
      towers: [...model.towers],
      losses: [...model.losses],
    },
    graph: model.graph,
    schema,
    encoders: extras.encoders ?? null,
    metadata: { createdAt: new Date().toISOString(), ...extras.metadata },
    weights,
  };
  if (extras.state) artifact.state = extras.state;
  return artifact;
}
