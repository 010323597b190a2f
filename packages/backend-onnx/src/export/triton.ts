import { lstat, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { type ModelArtifact } from '@esm2/core';
import { replaceDirAtomically, writeFileDurable } from '@esm2/core/node';
import { decodeModel } from '../proto/codec.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../proto/types.js';
import type { IdType } from '../lower/builder.js';
import { artifactToModelProto, type OnnxExportOptions } from './export.js';
import { formatText, readText, type Fields } from './pbtxt.js';
import { writeOnnxModel, type WrittenModel } from './write-model.js';

/*
 * A Triton Inference Server model repository entry for an exported model:
 *
 *   REPOSITORY/<name>/config.pbtxt     one config for every version
 *   REPOSITORY/<name>/1/model.onnx     the first export
 *   REPOSITORY/<name>/2/model.onnx     the next export of a model with the same inputs and outputs, …
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
  /**
   * The version directory to write (a positive integer). Default: 1 for a
   * new model folder, else one more than its highest version. An existing
   * version is refused, never replaced.
   */
  version?: number;
}

export interface WrittenTritonModel {
  /** REPOSITORY/<name> */
  dir: string;
  /** The configuration that serves the model: the one written, or the folder's own when a version was added to it. */
  config: TritonModelConfig;
  configPath: string;
  /** Whether config.pbtxt was written (a new model folder) or kept as it was (a version added to an existing folder). */
  configWritten: boolean;
  /** The version directory written. */
  version: number;
  /** Every version of the folder after the export, highest first. */
  versions: number[];
  model: WrittenModel;
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** A version directory name as Triton reads one: a number without a leading zero (Triton ignores `0`, `01`, `latest`…). */
const VERSION_DIR = /^[1-9]\d*$/;

/** The versions of a Triton model folder, highest first (10 after 9): its directories named by a version number. */
export async function tritonVersions(dir: string): Promise<number[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && VERSION_DIR.test(e.name) && Number.isSafeInteger(Number(e.name)))
    .map((e) => Number(e.name))
    .sort((a, b) => b - a);
}

/**
 * A Triton model folder's config.pbtxt, checked to be an ONNX Runtime model,
 * and the file name each version directory holds its model under
 * (`default_model_filename`, else model.onnx). Undefined when `dir` has no
 * config.pbtxt (not a Triton model folder); an error naming the path otherwise.
 */
export async function readTritonConfig(dir: string): Promise<{ config: TritonModelConfig; configPath: string; file: string } | undefined> {
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
  return { config, configPath, file };
}

const describeTensor = (t: TritonTensorConfig) => `${t.data_type} dims [${t.dims.join(', ')}]${t.reshape ? ` reshape [${t.reshape.shape.join(', ')}]` : ''}`;

/**
 * How the inputs and outputs a model needs (`wanted`, from tritonConfig)
 * differ from those a folder serves its versions with (`served`): one line
 * per tensor, by name (Triton matches tensors by name, so order is free).
 * Empty when they are the same.
 */
export function tritonSignatureDifferences(served: Pick<TritonModelConfig, 'input' | 'output'>, wanted: Pick<TritonModelConfig, 'input' | 'output'>): string[] {
  const out: string[] = [];
  for (const kind of ['input', 'output'] as const) {
    const have = new Map(served[kind].map((t) => [t.name, t]));
    const want = new Map(wanted[kind].map((t) => [t.name, t]));
    for (const [name, t] of have) if (!want.has(name)) out.push(`${kind} '${name}' (${describeTensor(t)}) is not an ${kind} of the new model`);
    for (const [name, t] of want) {
      const h = have.get(name);
      if (h === undefined) out.push(`the new model's ${kind} '${name}' (${describeTensor(t)}) is not among the served ${kind}s`);
      else if (describeTensor(h) !== describeTensor(t)) out.push(`${kind} '${name}' is ${describeTensor(h)}, the new model's is ${describeTensor(t)}`);
    }
  }
  return out;
}

/**
 * Writes the model into a Triton model repository:
 *
 * - REPOSITORY/<name> absent: REPOSITORY/<name>/config.pbtxt and
 *   REPOSITORY/<name>/<version, default 1>/model.onnx (the same ONNX file
 *   `exportArtifactToOnnx` writes), the folder appearing all at once;
 * - REPOSITORY/<name> a Triton model folder already: the next version
 *   (highest + 1, or `version`), the version directory appearing all at
 *   once. Its config.pbtxt serves every version (Triton has one config per
 *   model), so it is kept as it is — hand edits included — and the new
 *   model must have the inputs and outputs it declares (or, when it
 *   declares none, those of the highest version): a difference is refused,
 *   naming it, before anything is written. An existing version is refused,
 *   never replaced: it may be the one being served.
 *
 * Either way the model is written and verified (`verify`) under a hidden
 * temporary name and renamed into place only then, so a failure leaves the
 * repository as it was. Anything else at REPOSITORY/<name> is refused.
 */
export async function exportArtifactToTriton(artifact: ModelArtifact, repository: string, options: TritonExportOptions = {}): Promise<WrittenTritonModel> {
  const name = options.name ?? artifact.model.name;
  const proto = artifactToModelProto(artifact, options);
  const config = tritonConfig(proto, { ...options, name });
  if (options.version !== undefined && !(Number.isSafeInteger(options.version) && options.version >= 1)) {
    throw new Error(`version must be a positive integer, got ${options.version}`);
  }
  const dir = join(repository, name);
  const s = await stat(repository).catch(() => undefined);
  if (s && !s.isDirectory()) throw new Error(`${repository} is not a directory`);
  const entry = await lstat(dir).catch(() => undefined);
  if (entry === undefined) return newTritonFolder(dir, proto, config, options.version ?? 1, options);
  // The folder may be a symbolic link to one (a broken link is not a folder).
  const folder = entry.isSymbolicLink() ? await stat(dir).catch(() => undefined) : entry;
  if (!folder?.isDirectory()) throw new Error(`${dir} exists and is not a directory; remove it or export under another model name`);
  const current = await readTritonConfig(dir);
  if (current === undefined) {
    throw new Error(`${dir} already exists and is not a Triton model folder (no ${TRITON_CONFIG_FILE}); remove it or export under another model name`);
  }
  const versions = await tritonVersions(dir);
  await checkNewVersion(dir, current, versions, config, options);
  const version = options.version ?? (versions[0] ?? 0) + 1;
  if (!Number.isSafeInteger(version)) throw new Error(`${dir}: its highest version, ${versions[0]}, leaves no next version number`);
  const versionDir = join(dir, String(version));
  const refuseExisting = async () => {
    if (await exists(versionDir)) {
      throw new Error(`${versionDir} already exists: version ${version} of '${current.config.name}' is taken and is never replaced (it may be serving); give another --version, or none to write ${(versions[0] ?? 0) + 1}`);
    }
  };
  await refuseExisting();
  let model: WrittenModel | undefined;
  await replaceDirAtomically(versionDir, async (tmp) => {
    model = await writeVersion(tmp, versionDir, current.file, proto, options);
    await refuseExisting(); // created by someone else while this one was written
  });
  return {
    dir,
    config: current.config,
    configPath: current.configPath,
    configWritten: false,
    version,
    versions: [version, ...versions].sort((a, b) => b - a),
    model: model!,
  };
}

/** A new model folder: config.pbtxt and one version, renamed into place together. */
async function newTritonFolder(dir: string, proto: ModelProto, config: TritonModelConfig, version: number, options: TritonExportOptions): Promise<WrittenTritonModel> {
  const refuseExisting = async () => {
    if (await exists(dir)) throw new Error(`${dir} appeared while the model was written; export again to add a version to it`);
  };
  let model: WrittenModel | undefined;
  await replaceDirAtomically(dir, async (tmp) => {
    const v = join(tmp, String(version));
    await mkdir(v);
    model = await writeVersion(v, join(dir, String(version)), TRITON_MODEL_FILE, proto, options);
    await writeFileDurable(join(tmp, TRITON_CONFIG_FILE), formatTritonConfig(config));
    await refuseExisting(); // created by someone else while this one was written
  });
  return { dir, config, configPath: join(dir, TRITON_CONFIG_FILE), configWritten: true, version, versions: [version], model: model! };
}

/** Writes and verifies the model in the (temporary) version directory `tmp`; what was written, named by where it will be (`final`). */
async function writeVersion(tmp: string, final: string, file: string, proto: ModelProto, options: TritonExportOptions): Promise<WrittenModel> {
  const written = await writeOnnxModel(join(tmp, file), proto, options.externalData);
  await options.verify?.(join(tmp, file));
  return { ...written, path: join(final, file), ...(written.dataPath ? { dataPath: join(final, `${file}.data`) } : {}) };
}

/** Refuses, before anything is written, a new version the folder's config.pbtxt would serve wrongly. */
async function checkNewVersion(
  dir: string,
  current: { config: TritonModelConfig; configPath: string; file: string },
  versions: number[],
  wanted: TritonModelConfig,
  options: TritonExportOptions,
): Promise<void> {
  const { config, configPath } = current;
  if (options.maxBatchSize !== undefined && options.maxBatchSize !== config.max_batch_size) {
    throw new Error(
      `${configPath} has max_batch_size ${config.max_batch_size}, which serves every version; a new version cannot have ${options.maxBatchSize}: leave --max-batch-size out (the folder's config is kept) or edit ${configPath}`,
    );
  }
  // What the versions already there are served with: the config's tensors, or when it declares none (Triton completes them from the model) the highest version's.
  let served: Pick<TritonModelConfig, 'input' | 'output'> = config;
  let against = `${configPath} (which serves every version)`;
  if (config.input.length === 0 && config.output.length === 0 && versions.length > 0) {
    const latest = join(dir, String(versions[0]), current.file);
    const bytes = await readFile(latest).catch((e: NodeJS.ErrnoException) => Promise.reject(new Error(`${latest}: ${e.code === 'ENOENT' ? 'no such file' : e.message}; cannot check the new version against the highest one`)));
    served = tritonConfig(decodeModel(bytes), { name: config.name });
    against = `version ${versions[0]} (${latest}; ${configPath} declares no inputs or outputs)`;
  }
  const differences = tritonSignatureDifferences(served, wanted);
  if (differences.length > 0) {
    const ids = servedIdType(served, wanted);
    throw new Error(
      `the new model's inputs and outputs differ from ${against}: ${differences.join('; ')}. Triton serves all versions of a model with one config.pbtxt, so this version or the others would be served wrongly; ` +
        (ids !== undefined
          ? `its clients send ${ids.triton} ids: export with --id-type ${ids.idType} to add this version, or under another --name (a new model) or into another repository`
          : 'export it under another --name (a new model) or into another repository'),
    );
  }
}

const ID_TYPES: Record<string, IdType> = { TYPE_INT32: 'int32', TYPE_INT64: 'int64' };

/**
 * The id type the served inputs have when the new model's inputs differ from
 * them in that alone (int32 for int64 ids or the reverse, same names and
 * dims): what `idType` (--id-type) would make the new version match.
 */
function servedIdType(served: Pick<TritonModelConfig, 'input'>, wanted: Pick<TritonModelConfig, 'input'>): { triton: string; idType: IdType } | undefined {
  const want = new Map(wanted.input.map((t) => [t.name, t]));
  const types = new Set<string>();
  for (const h of served.input) {
    const t = want.get(h.name);
    if (t === undefined) return undefined;
    if (h.data_type === t.data_type) continue;
    if (!(h.data_type in ID_TYPES && t.data_type in ID_TYPES) || describeTensor({ ...h, data_type: t.data_type }) !== describeTensor(t)) return undefined;
    types.add(h.data_type);
  }
  const [triton] = types;
  return types.size === 1 ? { triton: triton!, idType: ID_TYPES[triton!]! } : undefined;
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
  const read = await readTritonConfig(dir);
  if (read === undefined) return undefined;
  const { config, configPath, file } = read;
  const versions = await tritonVersions(dir);
  if (versions.length === 0) throw new Error(`${dir}: a Triton model folder with no version directory (expected ${join(dir, '1', file)})`);
  const path = join(dir, String(versions[0]), file);
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
