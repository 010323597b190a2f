import { createHash } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelArtifact } from './artifact.js';
import { replaceDirAtomically, writeFileDurable } from '../fs/dir-swap.js';
import { ArtifactError } from './errors.js';
import { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, MODEL_FILE, WEIGHTS_FILE, type ModelJson } from './format.js';
import { modelJsonText } from './checksum.js';
import { jsonProblem } from './json.js';
import { packTensors, type TensorToPack } from './layout.js';
import { validateArtifact } from './validate.js';

/** Params in graph order (so files diff well and readers see a stable layout), then state in insertion order. */
function tensorsOf(artifact: ModelArtifact): TensorToPack[] {
  const params = artifact.graph.params.map((p) => ({
    name: p.name,
    group: 'param' as const,
    dtype: 'f32' as const,
    shape: p.type.shape as number[],
    data: artifact.weights.get(p.name)!,
  }));
  const state = [...(artifact.state ?? [])].map(([name, t]) => ({ name, group: 'state' as const, dtype: t.dtype, shape: t.shape, data: t.data }));
  return [...params, ...state];
}

/** Serialises an artifact: the model.json text and the weights.bin bytes. Validates first. */
export function encodeArtifact(artifact: ModelArtifact): { modelJson: string; weightsBin: Buffer } {
  validateArtifact(artifact);
  const { entries, bin } = packTensors(tensorsOf(artifact));
  const doc: ModelJson = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: artifact.model,
    graph: artifact.graph,
    schema: artifact.schema,
    encoders: artifact.encoders ?? null,
    metadata: artifact.metadata,
    weights: { file: WEIGHTS_FILE, byteLength: bin.byteLength, sha256: createHash('sha256').update(bin).digest('hex'), tensors: entries },
  };
  const lossy = jsonProblem(doc, MODEL_FILE);
  if (lossy) throw new ArtifactError(`invalid artifact: ${lossy}`);
  return { modelJson: modelJsonText(doc), weightsBin: bin };
}

/** Overwriting is for artifacts only: a typo'd path must not wipe an unrelated directory. */
async function assertReplaceable(target: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!stats.isDirectory()) throw new ArtifactError(`cannot write artifact to ${target}: it exists and is not a directory`);
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes(MODEL_FILE)) {
    throw new ArtifactError(`refusing to overwrite ${target}: it is a non-empty directory without ${MODEL_FILE}, not an artifact`);
  }
}

/**
 * Writes an artifact directory atomically: after a crash at any point the
 * path holds the previous complete artifact or the new one (see atomic.ts).
 * Nothing is touched on disk when validation fails.
 */
export async function writeArtifact(dir: string, artifact: ModelArtifact): Promise<void> {
  const { modelJson, weightsBin } = encodeArtifact(artifact);
  const target = resolve(dir);
  await assertReplaceable(target);
  await replaceDirAtomically(target, async (tmp) => {
    await writeFileDurable(join(tmp, WEIGHTS_FILE), weightsBin);
    await writeFileDurable(join(tmp, MODEL_FILE), modelJson);
  });
}
