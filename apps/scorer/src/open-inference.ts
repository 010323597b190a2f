/**
 * The Open Inference Protocol (KServe v2) over REST: the model's raw
 * feature fields as one 1-D input tensor each, its predictions as FP32
 * output tensors. Followed:
 * - the protocol's REST API, kserve/kserve docs/predict-api/v2/required_api.md
 *   (health: status code only, body empty; server and model metadata;
 *   $inference_request / $inference_response; errors `{"error": …}`;
 *   tensor data row-major, here 1-D so flat);
 * - Triton's binary tensor data extension,
 *   triton-inference-server/server docs/protocol/extension_binary_data.md
 *   (JSON header of `Inference-Header-Content-Length` bytes, then each
 *   binary tensor in input order, sized by `parameters.binary_data_size`;
 *   little-endian, row-major; a BYTES element is a 4-byte little-endian
 *   unsigned length then the bytes; outputs in binary when
 *   `parameters.binary_data` on the output, else the request's
 *   `parameters.binary_data_output`, is true).
 * The tensors go through the same checks and encoding as POST /v1/score's
 * rows (the encoders' fast path writes them column by column; anything it
 * does not take goes through encodeRows on rows built from them), so both
 * answer the same scores, and refuse with the same words, for the same rows.
 */
import { endianness } from 'node:os';
import { numbersJson, type Scores } from './feeds.js';
import type { ScoringModel } from './model.js';
import { RequestError, utf8Text } from './request.js';

export const BINARY_HEADER = 'inference-header-content-length';
export const BINARY_EXTENSION = 'binary_tensor_data';

type Datatype = 'BYTES' | 'FP32';

/** One protocol input: a raw feature field, named after its source column. */
export interface InputSpec {
  name: string;
  /** Other names the tensor may be sent under (the model's field name when it differs). */
  aliases: string[];
  datatype: Datatype;
  /** The key rows carry for the encoders. */
  column: string;
  /** A single category per row (BYTES of a categorical field): an element spelling a small integer may be read as that number. */
  category: boolean;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** The protocol inputs of a model: one per raw feature field, BYTES for categorical (lists as delimited text), FP32 for numeric. */
export function inputSpecs(model: ScoringModel): InputSpec[] {
  // A field's name is an alias unless it is also a column (then it names that column's tensor only).
  return model.encoders.config.fields.map((f) => ({
    name: f.column,
    aliases: model.encoders.keysOf(f.name).slice(1),
    datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
    column: f.column,
    category: f.kind === 'categorical',
  }));
}

/** $metadata_model_response. */
export function modelMetadata(model: ScoringModel, specs: readonly InputSpec[]) {
  return {
    name: model.name,
    versions: [model.version],
    platform: 'onnxruntime_onnx',
    inputs: specs.map((s): TensorMetadata => ({ name: s.name, datatype: s.datatype, shape: [-1] })),
    outputs: model.predictions.map((p): TensorMetadata => ({ name: p, datatype: 'FP32', shape: [-1] })),
  };
}

/** A parsed $inference_request: its tensors' values by source column (`rows` each), and which outputs to answer and how. */
export interface InferRequest {
  id?: string;
  rows: number;
  /** Each input's values under its spec's column: numbers (FP32: a Float32Array when sent binary) or, BYTES, strings and numbers. */
  columns: Map<string, ArrayLike<unknown>>;
  outputs: { name: string; binary: boolean }[];
}

/** The request's rows as objects keyed by column, as /v1 rows are: what encodeRows takes when the fast path does not. */
export function inferRows(request: Pick<InferRequest, 'rows' | 'columns'>): Record<string, unknown>[] {
  const n = request.rows;
  const out = new Array<Record<string, unknown>>(n);
  for (let r = 0; r < n; r++) out[r] = {};
  for (const [column, values] of request.columns) for (let r = 0; r < n; r++) out[r]![column] = values[r];
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A JSON parameter that must be a boolean when present. */
function flag(parameters: unknown, key: string, where: string): boolean | undefined {
  if (parameters === undefined) return undefined;
  if (!isObject(parameters)) throw new RequestError(`${where}"parameters" must be an object`);
  const v = parameters[key];
  if (v !== undefined && typeof v !== 'boolean') throw new RequestError(`${where}parameter "${key}" must be true or false`);
  return v;
}

/**
 * The body of POST /v2/models/{name}/infer (JSON, or JSON header and
 * binary tensors when `headerLength` is given) → an InferRequest, or a
 * RequestError naming exactly what is wrong.
 */
export function parseInferRequest(
  body: Buffer,
  headerLength: string | undefined,
  model: ScoringModel,
  specs: readonly InputSpec[],
  maxRows: number,
): InferRequest {
  let jsonBytes = body;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    const n = /^\d+$/.test(headerLength.trim()) ? Number(headerLength) : NaN;
    if (!Number.isSafeInteger(n) || n > body.length) {
      throw new RequestError(`Inference-Header-Content-Length '${headerLength}' must be a whole number of bytes no larger than the ${body.length}-byte body`);
    }
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  const part = headerLength === undefined ? 'body' : 'header (the first Inference-Header-Content-Length bytes)';
  const text = utf8Text(jsonBytes, `the JSON ${part}`);
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (e) {
    throw new RequestError(`invalid JSON ${part}: ${(e as Error).message}`);
  }
  if (!isObject(request)) throw new RequestError('body must be a JSON object {"inputs": [...]}');
  const known = new Set(['id', 'parameters', 'inputs', 'outputs', 'model_name', 'model_version']);
  const extra = Object.keys(request).filter((k) => !known.has(k));
  if (extra.length > 0) throw new RequestError(`unknown top-level key(s) ${extra.map((k) => `'${k}'`).join(', ')}; expected "id", "parameters", "inputs", "outputs", "model_name", "model_version"`);
  const { id, inputs, outputs, model_name: modelName, model_version: modelVersion } = request;
  if (id !== undefined && typeof id !== 'string') throw new RequestError('"id" must be a string');
  // The path names the model; a body that names another one was meant for another model (or server).
  if (modelName !== undefined && modelName !== model.name) {
    throw new RequestError(`"model_name" ${JSON.stringify(modelName)} is not the model this path serves, '${model.name}'`);
  }
  if (modelVersion !== undefined && modelVersion !== model.version) {
    throw new RequestError(`"model_version" ${JSON.stringify(modelVersion)} is not the version served, '${model.version}'`);
  }
  const binaryOutput = flag(request.parameters, 'binary_data_output', '') ?? false;

  if (inputs === undefined) throw new RequestError(`missing "inputs": expected one tensor per feature (${specs.map((s) => s.name).join(', ')})`);
  if (!Array.isArray(inputs)) throw new RequestError('"inputs" must be an array of tensors');
  const byName = new Map<string, InputSpec>();
  for (const s of specs) for (const n of [s.name, ...s.aliases]) byName.set(n, s);
  const columns = new Map<InputSpec, ArrayLike<unknown>>();
  let rows: number | undefined;
  let offset = 0;
  for (const [i, input] of (inputs as unknown[]).entries()) {
    const at = `inputs[${i}]`;
    if (!isObject(input)) throw new RequestError(`${at}: expected a tensor {"name", "shape", "datatype", "data"}`);
    const { name, shape, datatype, data, parameters } = input;
    if (typeof name !== 'string') throw new RequestError(`${at}: "name" must be a string`);
    const where = `input '${name}'`;
    const spec = byName.get(name);
    if (!spec) throw new RequestError(`${where}: the model has no such input; it takes ${specs.map((s) => s.name).join(', ')}`);
    if (columns.has(spec)) throw new RequestError(`${where}: given twice`);
    if (datatype !== spec.datatype) throw new RequestError(`${where}: datatype must be ${spec.datatype}, got ${JSON.stringify(datatype)}`);
    if (!Array.isArray(shape) || shape.length !== 1 || !Number.isSafeInteger(shape[0]) || (shape[0] as number) < 0) {
      throw new RequestError(`${where}: shape must be [n] (one value per row), got ${JSON.stringify(shape)}`);
    }
    const n = shape[0] as number;
    if (rows === undefined) {
      if (n === 0) throw new RequestError(`${where}: shape is [0]: send at least one row`);
      if (n > maxRows) throw new RequestError(`too many rows: ${n} (at most ${maxRows} per request)`, 413);
      rows = n;
    } else if (n !== rows) {
      throw new RequestError(`${where}: shape [${n}] does not match the other inputs' [${rows}]: every input has one value per row`);
    }
    if (parameters !== undefined && !isObject(parameters)) throw new RequestError(`${where}: "parameters" must be an object`);
    const size = parameters?.binary_data_size;
    let values: ArrayLike<unknown>;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) throw new RequestError(`${where}: parameter "binary_data_size" must be a whole number of bytes`);
      if (binary === undefined) throw new RequestError(`${where}: has "binary_data_size" but the request has no Inference-Header-Content-Length header`);
      if (data !== undefined) throw new RequestError(`${where}: give either "data" or "binary_data_size", not both`);
      if (offset + (size as number) > binary.length) {
        throw new RequestError(`${where}: "binary_data_size" ${size as number} runs past the end of the body (${binary.length - offset} binary bytes left)`);
      }
      const bytes = binary.subarray(offset, offset + (size as number));
      offset += size as number;
      values = spec.datatype === 'FP32' ? decodeFp32(bytes, n, where) : decodeBytes(bytes, n, where, spec.category);
    } else {
      if (data === undefined) throw new RequestError(`${where}: missing "data"`);
      if (!Array.isArray(data)) throw new RequestError(`${where}: "data" must be an array`);
      if (data.length !== n) throw new RequestError(`${where}: "data" has ${data.length} values but shape says ${n}`);
      const fp32 = spec.datatype === 'FP32';
      for (let j = 0; j < data.length; j++) {
        const v: unknown = data[j];
        if (fp32 ? typeof v !== 'number' : typeof v !== 'string' && typeof v !== 'number') {
          throw new RequestError(`${where}, element ${j}: expected ${spec.datatype === 'FP32' ? 'a number (FP32)' : 'a string (BYTES)'}, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
        }
      }
      values = data;
    }
    columns.set(spec, values);
  }
  if (binary !== undefined && offset !== binary.length) {
    throw new RequestError(`the body has ${binary.length - offset} binary byte(s) after the tensors' binary_data_size total of ${offset}`);
  }
  const missing = specs.filter((s) => !columns.has(s));
  if (missing.length > 0) throw new RequestError(`missing input(s) ${missing.map((s) => `'${s.name}'`).join(', ')}: the model takes one tensor per feature`);
  const n = rows!;
  // By column, in the order given (two specs on one column: the later one's values, as the rows built from them had).
  const byColumn = new Map<string, ArrayLike<unknown>>();
  for (const [spec, values] of columns) byColumn.set(spec.column, values);

  let wanted: InferRequest['outputs'];
  if (outputs === undefined) {
    wanted = model.predictions.map((name) => ({ name, binary: binaryOutput }));
  } else {
    if (!Array.isArray(outputs)) throw new RequestError('"outputs" must be an array of {"name"}');
    if (outputs.length === 0) throw new RequestError(`"outputs" is empty: name at least one of ${model.predictions.join(', ')}, or leave "outputs" out for all`);
    const names = new Set<string>();
    wanted = (outputs as unknown[]).map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw new RequestError(`outputs[${i}]: expected {"name": …}`);
      if (!(model.predictions as string[]).includes(o.name)) throw new RequestError(`output '${o.name}': the model has no such output; it gives ${model.predictions.join(', ')}`);
      if (names.has(o.name)) throw new RequestError(`output '${o.name}': requested twice`);
      names.add(o.name);
      return { name: o.name, binary: flag(o.parameters, 'binary_data', `output '${o.name}': `) ?? binaryOutput };
    });
  }
  return { ...(id !== undefined ? { id } : {}), rows: n, columns: byColumn, outputs: wanted };
}

const LITTLE_ENDIAN = endianness() === 'LE';

function decodeFp32(bytes: Buffer, n: number, where: string): Float32Array {
  if (bytes.length !== n * 4) throw new RequestError(`${where}: "binary_data_size" is ${bytes.length} bytes but ${n} FP32 values take ${n * 4}`);
  const out = new Float32Array(n);
  // The bytes may sit at any offset: copied into an aligned array (little-endian, as the extension carries them).
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * BYTES elements as strings; with `integers` (a categorical field's), an
 * element that spells a small integer in canonical decimal ("7", not "07";
 * at most 9 digits) as that number instead: the text of a number and the
 * number are one category to the encoders (categoryKey), and the
 * vocabulary looks integers up by value, so no string is made for them.
 */
function decodeBytes(bytes: Buffer, n: number, where: string, integers = false): (string | number)[] {
  const out: (string | number)[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new RequestError(`${where}: BYTES element ${out.length} is cut off in its 4-byte length`);
    const len = bytes.readUInt32LE(at);
    at += 4;
    if (at + len > bytes.length) throw new RequestError(`${where}: BYTES element ${out.length} says ${len} bytes but only ${bytes.length - at} are left`);
    // ASCII (ids, mostly) is its own UTF-8 and latin1: read without a decoder.
    let ascii = true;
    let value = integers && len > 0 && len <= 9 && !(len > 1 && bytes[at] === 0x30) ? 0 : -1;
    for (let k = at; k < at + len; k++) {
      const b = bytes[k]!;
      if (b >= 0x80) {
        ascii = false;
        value = -1;
        break;
      }
      if (value >= 0) value = b >= 0x30 && b <= 0x39 ? value * 10 + (b - 0x30) : -1;
    }
    if (value >= 0) out.push(value);
    else if (ascii) out.push(bytes.toString('latin1', at, at + len));
    else {
      try {
        out.push(utf8.decode(bytes.subarray(at, at + len)));
      } catch {
        throw new RequestError(`${where}: BYTES element ${out.length} is not valid UTF-8`);
      }
    }
    at += len;
  }
  if (out.length !== n) throw new RequestError(`${where}: the binary data holds ${out.length} BYTES elements but shape says ${n}`);
  return out;
}

/** BYTES elements in the binary extension's layout: each a 4-byte little-endian length, then its UTF-8 bytes. */
export function encodeBytesTensor(values: readonly string[]): Buffer {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** FP32 values little-endian, as the binary extension carries them. */
export function encodeFp32Tensor(values: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  return out;
}

/** A response: JSON text, or (when any output is binary) the JSON header, its length, and the binary tensors after it, in one fresh buffer. */
export type InferResponse = { kind: 'json'; body: string } | { kind: 'binary'; body: Uint8Array; headerLength: number };

/**
 * $inference_response for the scores of rows [start, start + rows). The JSON is byte for
 * byte JSON.stringify of the response object (its fixed parts are written
 * by JSON.stringify; the FP32 data by numbersJson, which writes numbers as
 * it does), without building arrays of the data first. A binary body is a
 * Uint8Array over a fresh ArrayBuffer of exactly its bytes (never Buffer's
 * shared pool), so it can be transferred between threads.
 */
export function inferResponse(model: ScoringModel, request: Pick<InferRequest, 'id' | 'outputs'>, scores: Scores, rows: number, start = 0): InferResponse {
  const binaries: Float32Array[] = [];
  const outputs = request.outputs.map(({ name, binary }) => {
    const data = scores[name]!.subarray(start, start + rows);
    const tensor = { name, shape: [rows], datatype: 'FP32' };
    if (!binary) return `${JSON.stringify({ ...tensor, data: [] }).slice(0, -3)}${numbersJson(data)}}`;
    binaries.push(data);
    return JSON.stringify({ ...tensor, parameters: { binary_data_size: data.length * 4 } });
  });
  const head = JSON.stringify({
    model_name: model.name,
    model_version: model.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: [],
  });
  const text = `${head.slice(0, -2)}${outputs.join(',')}]}`;
  if (binaries.length === 0) return { kind: 'json', body: text };
  const header = Buffer.from(text, 'utf8');
  const body = new Uint8Array(header.length + binaries.reduce((n, d) => n + d.length * 4, 0));
  body.set(header);
  let at = header.length;
  for (const data of binaries) {
    if (LITTLE_ENDIAN) body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else for (let i = 0; i < data.length; i++) new DataView(body.buffer).setFloat32(at + i * 4, data[i]!, true);
    at += data.length * 4;
  }
  return { kind: 'binary', body, headerLength: header.length };
}
