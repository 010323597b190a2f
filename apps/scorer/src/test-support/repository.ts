import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { exportArtifactToOnnx, exportArtifactToTriton, TRITON_MODEL_FILE } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, type ModelArtifact } from '@esm2/core';
import type { Encoders } from '@esm2/data';

/**
 * Writes version `version` of a model into a Triton repository: the first
 * with `exportArtifactToTriton` (config.pbtxt and 1/model.onnx), later ones
 * as `<version>/model.onnx` beside it, each written under a temporary name
 * and renamed into place so a poll never sees half a version. The weights
 * are a fresh initialisation with `seed`, so versions score differently;
 * the towers are small unless `towers` says otherwise; `nanWeights`
 * makes every weight NaN (a version that loads but fails its warm-up).
 * Returns the version's model.onnx and the artifact it was exported from.
 */
export async function writeModelVersion(
  encoders: Encoders,
  repository: string,
  version: number,
  seed: number,
  options: { name?: string; towers?: number[]; nanWeights?: boolean } = {},
): Promise<{ file: string; artifact: ModelArtifact }> {
  const name = options.name ?? 'esm2';
  const model = buildModel(encoders.schema, { towers: options.towers ?? [32, 16] });
  const weights = initWeights(model.graph, seed);
  // A model exported intact whose every weight is NaN: it loads, and scores NaN.
  if (options.nanWeights) for (const w of weights.values()) w.fill(Number.NaN);
  const artifact = artifactFromModel(model, encoders.schema, weights, { encoders: encoders.toJSON() });
  const dir = join(repository, name);
  if (version === 1) {
    await exportArtifactToTriton(artifact, repository, { name });
  } else {
    const tmp = join(dir, `.incoming-${version}`);
    await mkdir(tmp, { recursive: true });
    await exportArtifactToOnnx(artifact, join(tmp, TRITON_MODEL_FILE));
    await rename(tmp, join(dir, String(version)));
  }
  return { file: join(dir, String(version), TRITON_MODEL_FILE), artifact };
}
