import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { artifactToModelProto, encodeModel, irInputs, parseExportMetadata, readVerifiedOnnx, tritonModelFile, type OnnxModelInfo } from '@esm2/backend-onnx';
import { MODEL_FILE, PREDICTION_NAMES, pruneGraph, type Graph, type PredictionName } from '@esm2/core';
import { locateArtifact, readArtifact } from '@esm2/core/node';
import { encodersForSchema, type Encoders } from '@esm2/data';

/** Where workers load the ONNX model from: the file (external data beside it) or bytes compiled in memory. */
export type ModelSource = { kind: 'file'; path: string } | { kind: 'bytes'; bytes: Uint8Array };

/**
 * The scoring graph as the model stores it, as far as scoring needs it: its
 * name and inputs (labels pruned), which say how encoded batches become
 * feeds. Plain data, so it crosses to scoring workers as is.
 */
export type ScoringGraph = Pick<Graph, 'name' | 'inputs'>;

/**
 * Everything scoring needs, from either an artifact directory or an
 * exported .onnx file: the model bytes, the training encoders, and the
 * scoring graph whose inputs say how encoded batches become feeds.
 */
export interface ScoringModel {
  info: OnnxModelInfo;
  encoders: Encoders;
  /**
   * The stored graph the ONNX model was compiled from, pruned to its outputs:
   * an artifact's (readArtifact's graph, as the trainer uses it) or an
   * exported file's own inputs. Never rebuilt from the config, so a model
   * built by other code is fed as it was built. Its inputs are exactly the ONNX inputs.
   */
  graph: ScoringGraph;
  predictions: PredictionName[];
  source: ModelSource;
  /** What --model pointed at, for logs and /healthz. */
  origin: string;
  /** The name the model is served under (/v2/models/{name}): a Triton folder's config name, else the model's own (esm2, esmm, …). */
  name: string;
  /**
   * The version it is served as, which every response names (`model_version`):
   * its content version (`info.modelVersion`, sha256:…), or with
   * `serve --model-repository` its version directory's number.
   */
  version: string;
}

/** Bytes in shared memory so every worker maps the same copy instead of cloning it. */
function shared(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

export interface LoadOptions {
  /**
   * Told about a model that loads but could not be fully checked (an .onnx
   * exported before content checksums). Default: process.emitWarning, which
   * prints to stderr.
   */
  onWarning?: (message: string) => void;
}

/**
 * Loads from a run directory, an artifact directory, an exported .onnx
 * file or a Triton model folder holding one (`esm2-train export --triton`;
 * paths as given, absolute or relative to cwd). Either way the weights
 * are checked against their checksum first (weights.bin's by readArtifact,
 * the .onnx file's and its external data's by readVerifiedOnnx), so a
 * corrupted model is refused, naming the file, instead of serving
 * slightly wrong scores.
 */
export async function loadScoringModel(path: string, options: LoadOptions = {}): Promise<ScoringModel> {
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'UnverifiedModelWarning'));
  let origin = resolve(path);
  let s = await stat(origin).catch(() => undefined);
  if (!s) throw new Error(`--model ${path}: no such file or directory`);
  // A Triton model folder (config.pbtxt, version directories) is served from its latest version's model.onnx.
  const triton = s.isDirectory() ? await tritonModelFile(origin).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`))) : undefined;
  if (triton !== undefined) [origin, s] = [triton.file, await stat(triton.file)];
  if (s.isDirectory()) origin = await locateArtifact(origin).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`)));
  let info: OnnxModelInfo;
  let source: ModelSource;
  // The stored graph: what the ONNX model is compiled from (an artifact) or holds (an exported file).
  let stored: () => ScoringGraph;
  if (s.isDirectory()) {
    const artifact = await readArtifact(origin);
    const proto = artifactToModelProto(artifact, { source: origin });
    info = parseExportMetadata(proto.metadata_props ?? [], origin);
    source = { kind: 'bytes', bytes: shared(encodeModel(proto)) };
    const pruned = pruneGraph(artifact.graph, info.outputs);
    stored = () => ({ name: pruned.name, inputs: pruned.inputs });
  } else {
    const read = await readVerifiedOnnx(origin);
    info = read.info;
    // Read once the checks below have passed: a --raw-features export's string inputs are refused by them, by name.
    stored = () => ({ name: read.graph.name, inputs: irInputs(read.graph.inputs, origin) });
    // Exported before checksums existed: refusing would strand every such model although nearly all
    // are intact, so it loads, and the warning says how to get a checked file.
    if (read.checksum === 'absent') {
      warn(`${origin} carries no content checksum (exported before esm2-onnx/2), so corruption cannot be detected; export it again to add one`);
    }
    source = { kind: 'file', path: origin };
  }
  // A --raw-features export takes raw strings and numbers (its encoders are inside the graph): that is for other ONNX runtimes.
  if (info.rawFeatures !== undefined) {
    throw new Error(`${path}: exported with --raw-features (raw inputs, for ONNX runtimes other than this scorer); esm2-score serves the id-input export: export the run again without --raw-features`);
  }
  // Tower outputs alone (export --outputs y1) score nothing this scorer answers with.
  if (info.predictions.length === 0) {
    throw new Error(`${path}: the model has no prediction output (its outputs: ${info.outputs.join(', ')}); esm2-score answers with ${PREDICTION_NAMES.join(', ')}: export the run again with --outputs including at least one`);
  }
  if (info.encoders === null) {
    throw new Error(`${path}: the model carries no encoders (it was not trained from a prepared dataset), so raw rows cannot be encoded`);
  }
  return scoringModel(info, stored(), source, origin, triton?.name);
}

/**
 * The model from its export metadata, its stored scoring graph, where it is
 * loaded from, what --model named, the name and version it is served under: how
 * loadScoringModel finishes, and how a scoring worker rebuilds the model
 * from what crosses to it (info, graph, source and origin are plain data;
 * the encoders are not sent).
 */
export function scoringModel(
  info: OnnxModelInfo,
  graph: ScoringGraph,
  source: ModelSource,
  origin: string,
  name: string = info.model.name,
  version: string = info.modelVersion,
): ScoringModel {
  // Named after the file that holds them (model.json of an artifact directory, which is served from bytes),
  // so a bad key can be found and fixed. Ids must fit the model's tables: a vocabulary one row larger
  // would send ids past the end of an embedding, so a mismatch is refused at startup.
  const encoders = encodersForSchema(info.encoders, info.schema, source.kind === 'bytes' ? join(origin, MODEL_FILE) : origin);
  return { info, encoders, graph, predictions: info.predictions, source, origin, name, version };
}
