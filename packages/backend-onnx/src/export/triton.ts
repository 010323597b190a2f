import { lstat, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { type ModelArtifact } from '@esm2/core';
import { replaceDirAtomically, writeFileDurable } from '@esm2/core/node';
import { decodeModel } from '../proto/codec.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../proto/types.js';
import { artifactToModelProto, type OnnxExportOptions } from './export.js';
import { formatText, readText, type Fields } from './pbtxt.js';
import { writeOnnxModel, type WrittenModel } from './write-model.js';

/*
 * A Triton Inference Server model repository entry for an exported model:
 *
 *   REPOSITORY/<name>/config.pbtxt
 *   REPOSITORY/<name>/1/model.onnx
 *
 * config.pbtxt is Triton's ModelConfig protobuf in protobuf text format:
 * the fields this project writes and reads are declared once (CONFIG_FIELDS)
 * and go through pbtxt.ts, the subset of the text format they need.
 */

export const TRITON_CONFIG_FILE = 'config.pbtxt';
/** The file name Triton's ONNX Runtime backend loads from each version directory unless `default_model_filename` says otherwise. */
export const TRITON_MODEL_FILE = 'model.onnx';
export const TRITON_PLATFORM = 'onnxruntime_onnx';
export const DEFAULT_TRITON_MAX_BATCH_SIZE = 4096;
/** How long Triton's dynamic batcher holds a request to join others: short, as scoring a batch takes well under a millisecond. */
export const DEFAULT_TRITON_QUEUE_DELAY_US = 100;

export interface TritonTensorConfig {
  name: string;
  /** `TYPE_FP32`, `TYPE_INT32`, … */
  data_type: string;
  /** The shape without the batch dimension; -1 for a variable dimension. */
  dims: number[];
  /** The shape the model itself sees (without the batch dimension), when it differs from `dims`: `[]` for a `[batch]` tensor. */
  reshape?: { shape: number[] };
}

/** The subset of Triton's ModelConfig this project writes and reads. */
export interface TritonModelConfig {
  name: string;
  platform?: string;
  backend?: string;
  max_batch_size: number;
  default_model_filename?: string;
  input: TritonTensorConfig[];
  output: TritonTensorConfig[];
  dynamic_batching?: { max_queue_delay_microseconds?: number };
  instance_group?: { count?: number; kind?: string }[];
}

const TRITON_TYPES: Record<number, string> = {
  [DataType.FLOAT]: 'TYPE_FP32',
  [DataType.DOUBLE]: 'TYPE_FP64',
  [DataType.INT32]: 'TYPE_INT32',
  [DataType.INT64]: 'TYPE_INT64',
  [DataType.BOOL]: 'TYPE_BOOL',
};

/** The longest model name: a directory name (255 bytes at most on common file systems) with room for the temporary name it is written under. */
export const TRITON_MODEL_NAME_MAX = 200;

/** A model name Triton can use as its repository directory: no path separators, not hidden, not `.`/`..`, not too long for a file name. */
export function checkTritonModelName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`Triton model name '${name}' must be letters, digits, '_', '.', '-' (not starting with '.' or '-'): it names the model's directory`);
  }
  if (name.length > TRITON_MODEL_NAME_MAX) {
    throw new Error(`Triton model name '${name.slice(0, 20)}…' is ${name.length} characters long; at most ${TRITON_MODEL_NAME_MAX}: it names the model's directory`);
  }
}

export interface TritonConfigOptions {
  name: string;
  /** Largest batch Triton sends to the model (≥ 1); default DEFAULT_TRITON_MAX_BATCH_SIZE. */
  maxBatchSize?: number;
  /** Dynamic batcher delay; default DEFAULT_TRITON_QUEUE_DELAY_US. */
  maxQueueDelayMicroseconds?: number;
}

function tensorConfig(v: ValueInfoProto, kind: 'input' | 'output'): TritonTensorConfig {
  const type = v.type.tensor_type;
  const data_type = TRITON_TYPES[type.elem_type];
  if (data_type === undefined) throw new Error(`${kind} '${v.name}': ONNX element type ${type.elem_type} has no Triton data type here`);
  const [batch, ...rest] = type.shape.dim;
  if (batch === undefined || !('dim_param' in batch)) {
    throw new Error(`${kind} '${v.name}': its first dimension is not a symbolic batch dimension, so Triton cannot batch it (max_batch_size > 0)`);
  }
  const dims = rest.map((d) => ('dim_value' in d ? d.dim_value : -1));
  // Triton requires at least one dim: a [batch] tensor is [batch, 1] to clients, reshaped to [batch] for the model.
  return dims.length === 0 ? { name: v.name, data_type, dims: [1], reshape: { shape: [] } } : { name: v.name, data_type, dims };
}

/** The Triton configuration of an ONNX model whose inputs and outputs all lead with the batch dimension. */
export function tritonConfig(model: ModelProto, options: TritonConfigOptions): TritonModelConfig {
  checkTritonModelName(options.name);
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_TRITON_MAX_BATCH_SIZE;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 2 ** 31 - 1) {
    throw new Error(`max_batch_size must be an integer from 1 to ${2 ** 31 - 1}, got ${maxBatchSize}`);
  }
  // Initializers may be listed among graph inputs in older ONNX files; they are not fed.
  const initializers = new Set(model.graph.initializer.map((t) => t.name));
  return {
    name: options.name,
    platform: TRITON_PLATFORM,
    max_batch_size: maxBatchSize,
    input: model.graph.input.filter((v) => !initializers.has(v.name)).map((v) => tensorConfig(v, 'input')),
    output: model.graph.output.map((v) => tensorConfig(v, 'output')),
    dynamic_batching: { max_queue_delay_microseconds: options.maxQueueDelayMicroseconds ?? DEFAULT_TRITON_QUEUE_DELAY_US },
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
  };
}

// ---- config.pbtxt ----

const TENSOR_FIELDS: Fields = { name: 'string', data_type: 'enum', dims: 'ints', reshape: { shape: 'ints' } };
/** TritonModelConfig as config.pbtxt spells it: every field written, and all that is read (other ModelConfig fields are skipped). */
const CONFIG_FIELDS: Fields = {
  name: 'string',
  platform: 'string',
  backend: 'string',
  max_batch_size: 'int',
  default_model_filename: 'string',
  input: [TENSOR_FIELDS],
  output: [TENSOR_FIELDS],
  dynamic_batching: { max_queue_delay_microseconds: 'int' },
  instance_group: [{ count: 'int', kind: 'enum' }],
};

/** config.pbtxt text for a configuration. */
export function formatTritonConfig(config: TritonModelConfig): string {
  return formatText(config as unknown as Record<string, unknown>, CONFIG_FIELDS);
}

/**
 * Reads config.pbtxt text (`path` names it in errors, with line and column)
 * into the fields this project uses; other ModelConfig fields are allowed
 * and ignored.
 */
export function parseTritonConfig(text: string, path: string): TritonModelConfig {
  type Read = Omit<Partial<TritonModelConfig>, 'input' | 'output'> & Partial<Record<'input' | 'output', Partial<TritonTensorConfig>[]>>;
  const { input, output, ...config } = readText(text, path, CONFIG_FIELDS) as Read;
  const fail = (what: string): never => {
    throw new Error(`${path}: ${what}`);
  };
  const tensors = (kind: 'input' | 'output', list: Partial<TritonTensorConfig>[] = []): TritonTensorConfig[] =>
    list.map(({ name, data_type, dims = [], reshape }, i) => {
      if (name === undefined) return fail(`${kind}[${i}].name is missing`);
      if (name === '') return fail(`${kind}[${i}].name is empty`);
      if (data_type === undefined) return fail(`${kind}[${i}].data_type is missing`);
      return { name, data_type, dims, ...(reshape ? { reshape } : {}) };
    });
  if (config.name === undefined) return fail('name is missing');
  if (config.name === '') return fail('name is empty; the model is served under it');
  return { ...config, name: config.name, max_batch_size: config.max_batch_size ?? 0, input: tensors('input', input), output: tensors('output', output) };
}

// ---- the repository folder ----

export interface TritonExportOptions extends OnnxExportOptions, Omit<TritonConfigOptions, 'name'> {
  /** The model's name and directory; default the artifact's model name (`esm2`, `esmm`, …). */
  name?: string;
}

export interface WrittenTritonModel {
  /** REPOSITORY/<name> */
  dir: string;
  config: TritonModelConfig;
  configPath: string;
  model: WrittenModel;
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/**
 * Writes REPOSITORY/<name>/config.pbtxt and REPOSITORY/<name>/1/model.onnx
 * (the same ONNX file `exportArtifactToOnnx` writes). The folder appears all
 * at once or not at all: it is written and verified (`verify`) under a
 * temporary name, and renamed into place only then. An existing REPOSITORY/<name> is refused, not
 * replaced: it may hold other versions or a hand-tuned config.
 */
export async function exportArtifactToTriton(artifact: ModelArtifact, repository: string, options: TritonExportOptions = {}): Promise<WrittenTritonModel> {
  const name = options.name ?? artifact.model.name;
  const proto = artifactToModelProto(artifact, options);
  const config = tritonConfig(proto, { ...options, name });
  const dir = join(repository, name);
  const refuseExisting = async () => {
    if (await exists(dir)) throw new Error(`${dir} already exists; remove it or export under another model name`);
  };
  await refuseExisting();
  const s = await stat(repository).catch(() => undefined);
  if (s && !s.isDirectory()) throw new Error(`${repository} is not a directory`);
  let model: WrittenModel | undefined;
  await replaceDirAtomically(dir, async (tmp) => {
    const version = join(tmp, '1');
    await mkdir(version);
    const written = await writeOnnxModel(join(version, TRITON_MODEL_FILE), proto, options.externalData);
    model = {
      ...written,
      path: join(dir, '1', TRITON_MODEL_FILE),
      ...(written.dataPath ? { dataPath: join(dir, '1', `${TRITON_MODEL_FILE}.data`) } : {}),
    };
    await writeFileDurable(join(tmp, TRITON_CONFIG_FILE), formatTritonConfig(config));
    await options.verify?.(join(version, TRITON_MODEL_FILE));
    await refuseExisting(); // created by someone else while this one was written
  });
  return { dir, config, configPath: join(dir, TRITON_CONFIG_FILE), model: model! };
}

/**
 * The ONNX file a Triton model folder serves: `<dir>/<highest numeric
 * version>/<default_model_filename or model.onnx>`, as Triton's default
 * version policy (latest 1) picks it, and the name Triton serves it under
 * (its config's `name`). Undefined when `dir` has no config.pbtxt (not a
 * Triton model folder); an error naming the path when the config is not an
 * ONNX Runtime model or the version holds no model.
 */
export async function tritonModelFile(dir: string): Promise<{ file: string; name: string } | undefined> {
  const configPath = join(dir, TRITON_CONFIG_FILE);
  const text = await readFile(configPath, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  if (text === undefined) return undefined;
  const config = parseTritonConfig(text, configPath);
  const onnxRuntime = config.platform === TRITON_PLATFORM || (config.platform === undefined && config.backend === 'onnxruntime');
  if (!onnxRuntime) {
    throw new Error(`${configPath}: not an ONNX Runtime model (platform ${config.platform ?? 'unset'}, backend ${config.backend ?? 'unset'}); expected platform "${TRITON_PLATFORM}"`);
  }
  const file = config.default_model_filename ?? TRITON_MODEL_FILE;
  // A file name inside the version directory, as Triton means it: never a path out of the folder.
  if (file === '' || file === '.' || file === '..' || /[/\\]/.test(file) || isAbsolute(file)) {
    throw new Error(`${configPath}: default_model_filename ${JSON.stringify(file)} must be a file name in the version directory, not a path`);
  }
  const versions = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`${dir}: a Triton model folder with no version directory (expected ${join(dir, '1', file)})`);
  const path = join(dir, versions[0]!, file);
  if (!(await stat(path).catch(() => undefined))?.isFile()) {
    throw new Error(`${path}: no such file; the Triton model folder ${dir} serves its highest version, ${versions[0]}, which holds no ${file}`);
  }
  if (config.input.length > 0 || config.output.length > 0) checkConfigAgainstModel(config, configPath, decodeModel(await readFile(path)), path);
  return { file: path, name: config.name };
}

/** The tensors config.pbtxt declares exist in the ONNX model with the same element types (Triton would refuse the model; this scorer would serve it under a contradicting config). */
function checkConfigAgainstModel(config: TritonModelConfig, configPath: string, model: ModelProto, modelPath: string): void {
  for (const kind of ['input', 'output'] as const) {
    const tensors = new Map((kind === 'input' ? model.graph.input : model.graph.output).map((v) => [v.name, v]));
    for (const [i, t] of config[kind].entries()) {
      const v = tensors.get(t.name);
      if (v === undefined) throw new Error(`${configPath}: ${kind}[${i}].name '${t.name}' is not an ${kind} of ${modelPath} (it has ${[...tensors.keys()].join(', ')})`);
      const type = TRITON_TYPES[v.type.tensor_type.elem_type];
      if (type !== t.data_type) {
        throw new Error(`${configPath}: ${kind}[${i}].data_type is ${t.data_type} but ${kind} '${t.name}' of ${modelPath} is ${type ?? `ONNX element type ${v.type.tensor_type.elem_type}`}`);
      }
    }
  }
}
