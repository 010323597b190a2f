import Long from 'long';
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-proto.js';
import type { ModelProto, StringStringEntryProto, ValueInfoProto } from './types.js';

// int64 fields go through `long` so values past 2^31 are encoded exactly.
protobuf.util.Long = Long;
protobuf.configure();

/** keepCase: field names stay ONNX's snake_case, matching types.ts. */
export const onnxRoot = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelType = onnxRoot.lookupType('onnx.ModelProto');
const StringStringEntry = onnxRoot.lookupType('onnx.StringStringEntryProto');
const ValueInfo = onnxRoot.lookupType('onnx.ValueInfoProto');

/** The ONNX ModelProto as protobuf bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const problem = ModelType.verify(model);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return ModelType.encode(model).finish();
}

/** Parses ModelProto bytes; int64 fields become numbers (and fail loudly if beyond 2^53). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = ModelType.decode(bytes);
  const plain = ModelType.toObject(message, { arrays: true, enums: Number });
  return longsToNumbers(plain, 'model') as ModelProto;
}

/**
 * Only the metadata_props of a model, without decoding the graph: readers of
 * a multi-gigabyte file want the schema and encoders, not the weights.
 */
export function decodeMetadataProps(bytes: Uint8Array): StringStringEntryProto[] {
  const reader = protobuf.Reader.create(bytes);
  const props: StringStringEntryProto[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 14 && (tag & 7) === 2) {
      const entry = StringStringEntry.toObject(StringStringEntry.decode(reader, reader.uint32()));
      props.push({ key: String(entry.key ?? ''), value: String(entry.value ?? '') });
    } else {
      reader.skipType(tag & 7);
    }
  }
  return props;
}

/**
 * Only the graph's name and inputs, skipping its nodes and initializers:
 * what a scorer needs to build feeds from an exported file, without
 * decoding (copying) the weights.
 */
export function decodeGraphInputs(bytes: Uint8Array): { name: string; inputs: ValueInfoProto[] } {
  const reader = protobuf.Reader.create(bytes);
  let name = '';
  const inputs: ValueInfoProto[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 !== 7 || (tag & 7) !== 2) {
      reader.skipType(tag & 7);
      continue;
    }
    // ModelProto.graph (7): its fields up to the end of the message.
    const end = reader.uint32() + reader.pos;
    while (reader.pos < end) {
      const inner = reader.uint32();
      const field = inner >>> 3;
      if (field === 2 && (inner & 7) === 2) name = reader.string();
      else if (field === 11 && (inner & 7) === 2) {
        const info = ValueInfo.toObject(ValueInfo.decode(reader, reader.uint32()), { arrays: true, enums: Number });
        inputs.push(longsToNumbers(info, `graph.input[${inputs.length}]`) as ValueInfoProto);
      } else reader.skipType(inner & 7);
    }
  }
  return { name, inputs };
}

function longsToNumbers(value: unknown, path: string): unknown {
  if (Long.isLong(value)) {
    const n = (value).toNumber();
    if (!Number.isSafeInteger(n)) throw new Error(`ONNX ${path} = ${(value).toString()} is beyond 2^53`);
    return n;
  }
  if (Array.isArray(value)) return value.map((v, i) => longsToNumbers(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = longsToNumbers(v, `${path}.${k}`);
  return out;
}
