import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Weights } from '../ir/tensor.js';
import { sameDims } from '../ir/shape.js';
import type { Graph } from '../ir/types.js';
import { parseFeatureSchema, type FeatureSchema } from '../schema.js';
import { parseModelConfig, type ModelConfig } from '../zoo/config.js';
import type { ModelArtifact, StateTensor } from './artifact.js';
import { interruptedSwapDir } from '../fs/dir-swap.js';
import { ArtifactError, listProblems } from './errors.js';
import {
  ARTIFACT_FORMAT,
  MODEL_FILE,
  SUPPORTED_FORMAT_VERSIONS,
  WEIGHTS_FILE,
  headerSchema,
  modelJsonSchema,
  zodProblems,
  type ModelJson,
  type TensorEntry,
} from './format.js';
import { modelJsonChecksum } from './checksum.js';
import { asGraph } from './graph-json.js';
import { decodeTensor, describeTensor, layoutProblems } from './layout.js';
import { graphProblem, modelInfoProblems, nonFiniteProblems, schemaGraphProblems, schemaTableProblems } from './validate.js';

/**
 * Reads and fully validates an artifact directory. Every error is an
 * ArtifactError naming the file and what is wrong with it. Checks run
 * cheapest first: the JSON and its manifest are vetted before weights.bin is
 * read, so a bad manifest cannot make us read out of bounds.
 */
export async function readArtifact(dir: string): Promise<ModelArtifact> {
  const root = await locate(resolve(dir));
  const modelPath = join(root, MODEL_FILE);
  const doc = parseModelJson(modelPath, await readModelText(modelPath));
  const fail = (problems: string[]): never => {
    throw new ArtifactError(`${modelPath}: ${listProblems(problems)}`);
  };

  let config: ModelConfig;
  let schema: FeatureSchema;
  try {
    config = parseModelConfig(doc.model.config);
  } catch (e) {
    return fail([`model.config: ${(e as Error).message}`]);
  }
  try {
    schema = parseFeatureSchema(doc.schema);
  } catch (e) {
    return fail([`schema: ${(e as Error).message}`]);
  }
  const graph = asGraph(doc.graph);
  const typeError = graphProblem(graph);
  if (typeError) fail([typeError]);
  const model = { ...doc.model, config };
  const consistency = [...modelInfoProblems(model, graph), ...schemaGraphProblems(schema, graph), ...schemaTableProblems(schema, graph)];
  if (consistency.length > 0) fail(consistency);

  const manifest = doc.weights;
  const layout = layoutProblems(manifest.tensors, manifest.byteLength);
  if (layout.length > 0) fail([`weights manifest: ${listProblems(layout)}`]);
  const mismatch = manifestGraphProblems(manifest.tensors, graph);
  if (mismatch.length > 0) fail([`weights manifest does not match the graph: ${listProblems(mismatch)}`]);

  const binPath = join(root, WEIGHTS_FILE);
  const bin = await readWeightsBin(binPath, manifest.byteLength, manifest.sha256);
  const weights: Weights = new Map();
  const state = new Map<string, StateTensor>();
  const byParam = new Map(manifest.tensors.filter((e) => e.group === 'param').map((e) => [e.name, e]));
  for (const p of graph.params) {
    const e = byParam.get(p.name)!; // manifestGraphProblems guarantees one f32 entry per param
    weights.set(p.name, decodeTensor(slice(bin, e), 'f32'));
  }
  for (const e of manifest.tensors) {
    if (e.group !== 'state') continue;
    const data = decodeTensor(slice(bin, e), e.dtype);
    state.set(e.name, (e.dtype === 'f32' ? { dtype: 'f32', shape: e.shape, data } : { dtype: 'i32', shape: e.shape, data }) as StateTensor);
  }
  const nonFinite = nonFiniteProblems(weights, state);
  if (nonFinite.length > 0) throw new ArtifactError(`${binPath}: ${listProblems(nonFinite)}`);

  const artifact: ModelArtifact = {
    model,
    graph,
    schema,
    encoders: doc.encoders ?? null,
    metadata: doc.metadata,
    weights,
  };
  if (state.size > 0) artifact.state = state;
  return artifact;
}

/** The artifact directory, or the complete previous one if a write was interrupted mid-swap. */
async function locate(target: string): Promise<string> {
  try {
    const s = await stat(target);
    if (!s.isDirectory()) throw new ArtifactError(`${target} is not an artifact directory (it is a file)`);
    return target;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const previous = await interruptedSwapDir(target);
  if (previous) return previous;
  throw new ArtifactError(`artifact directory not found: ${target}`);
}

async function readModelText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactError(`${path} is missing: not an artifact directory`);
    throw new ArtifactError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function parseModelJson(path: string, text: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const header = headerSchema.safeParse(json);
  if (!header.success) throw new ArtifactError(`${path}: expected a JSON object with "format" and "formatVersion"`);
  const { format, formatVersion } = header.data;
  if (format !== ARTIFACT_FORMAT) {
    throw new ArtifactError(`${path}: format is ${JSON.stringify(format) ?? 'missing'}, expected "${ARTIFACT_FORMAT}"`);
  }
  if (typeof formatVersion !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(formatVersion)) {
    throw new ArtifactError(
      `${path}: unsupported formatVersion ${JSON.stringify(formatVersion) ?? 'missing'} (supported: ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`,
    );
  }
  // Before the fields are looked at: a damaged file is reported as damaged, not by whichever field broke.
  if (formatVersion >= 2) checkModelJsonChecksum(path, json as Record<string, unknown>);
  const parsed = modelJsonSchema.safeParse(json);
  if (!parsed.success) throw new ArtifactError(`${path} is invalid: ${listProblems(zodProblems(parsed.error))}`);
  return parsed.data;
}

/** A version-2 model.json's recorded checksum against its content (version 1 recorded none, so it is read unchecked). */
function checkModelJsonChecksum(path: string, doc: Record<string, unknown>): void {
  const recorded = doc.sha256;
  if (typeof recorded !== 'string') {
    throw new ArtifactError(`${path}: "sha256" is missing; formatVersion ${String(doc.formatVersion)} records the file's own checksum there`);
  }
  const actual = modelJsonChecksum(doc);
  if (actual !== recorded) {
    throw new ArtifactError(`${path} is corrupt: checksum sha256 ${actual} does not match the ${recorded} it records (the file changed after it was written)`);
  }
}

/** The manifest's params are exactly the graph's, each f32 with the declared shape. */
function manifestGraphProblems(entries: readonly TensorEntry[], graph: Graph): string[] {
  const problems: string[] = [];
  const params = new Map(entries.filter((e) => e.group === 'param').map((e) => [e.name, e]));
  for (const p of graph.params) {
    const e = params.get(p.name);
    if (!e) problems.push(`param '${p.name}' is missing`);
    else if (e.dtype !== 'f32') problems.push(`${describeTensor(e)} is ${e.dtype}, params are f32`);
    else if (!sameDims(e.shape, p.type.shape)) {
      problems.push(`${describeTensor(e)} has shape [${e.shape.join(',')}] but the graph declares [${p.type.shape.join(',')}]`);
    }
  }
  const declared = new Set(graph.params.map((p) => p.name));
  for (const name of params.keys()) if (!declared.has(name)) problems.push(`param '${name}' is not a graph param`);
  return problems;
}

async function readWeightsBin(path: string, byteLength: number, sha256: string): Promise<Buffer> {
  let bin: Buffer;
  try {
    bin = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactError(`${path} is missing`);
    throw new ArtifactError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (bin.byteLength < byteLength) throw new ArtifactError(`${path} is truncated: ${bin.byteLength} bytes, the manifest says ${byteLength}`);
  if (bin.byteLength > byteLength) throw new ArtifactError(`${path} has ${bin.byteLength} bytes, the manifest says ${byteLength}: trailing data`);
  const actual = createHash('sha256').update(bin).digest('hex');
  if (actual !== sha256) throw new ArtifactError(`${path} is corrupt: checksum sha256 ${actual} does not match the manifest's ${sha256}`);
  return bin;
}

function slice(bin: Buffer, e: TensorEntry): Uint8Array {
  return bin.subarray(e.offset, e.offset + e.byteLength);
}
