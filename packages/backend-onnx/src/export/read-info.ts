import { readFile } from 'node:fs/promises';
import { LABEL_INPUTS, type Dim, type GraphInput } from '@esm2/core';
import { decodeGraphInputs, decodeMetadataProps } from '../proto/codec.js';
import { DataType, type ValueInfoProto } from '../proto/types.js';
import { checkChecksum, type ChecksumStatus } from './checksum.js';
import { LEGACY_EXPORT_FORMAT, METADATA_KEYS, parseExportMetadata, type OnnxModelInfo } from './metadata.js';

/** The schema, encoders and version an exported .onnx file carries, without decoding its graph or checking its checksum. */
export async function readOnnxInfo(path: string): Promise<OnnxModelInfo> {
  return onnxInfoFromBytes(await readFile(path), path);
}

export function onnxInfoFromBytes(bytes: Uint8Array, where = 'ONNX model'): OnnxModelInfo {
  let props;
  try {
    props = decodeMetadataProps(bytes);
  } catch (e) {
    throw new Error(`${where} is not an ONNX model: ${(e as Error).message}`);
  }
  return parseExportMetadata(props, where);
}

export interface VerifiedOnnx {
  info: OnnxModelInfo;
  /** 'absent' only for a file exported before checksums existed (format esm2-onnx/1). */
  checksum: ChecksumStatus;
  /** The file's graph: its name and its inputs as stored (irInputs gives them as IR inputs). */
  graph: { name: string; inputs: ValueInfoProto[] };
}

const LABELS: ReadonlySet<string> = new Set(LABEL_INPUTS);

/**
 * An exported graph's inputs as the IR graph it was compiled from declared
 * them (compileGraph's typeProto read backwards): int32 ids (exports since
 * int32 ids) and int64 ids (every earlier export, and --id-type int64) are
 * i32, float is f32, a symbolic dim is the batch dim, and an input named like a label
 * is a label (schema fields may not take those names). Any other input (a
 * --raw-features export's strings) is refused, naming it.
 */
export function irInputs(inputs: readonly ValueInfoProto[], where = 'ONNX model'): GraphInput[] {
  return inputs.map((v) => {
    const t = v.type?.tensor_type;
    const dtype = t?.elem_type === DataType.FLOAT ? 'f32' : t?.elem_type === DataType.INT32 || t?.elem_type === DataType.INT64 ? 'i32' : undefined;
    if (t === undefined || dtype === undefined) {
      throw new Error(`${where}: input '${v.name}' is not a float, int32 or int64 tensor (ONNX elem_type ${t?.elem_type ?? 'missing'})`);
    }
    const shape = t.shape.dim.map((d): Dim => ('dim_param' in d ? 'batch' : d.dim_value));
    return { name: v.name, type: { dtype, shape }, role: LABELS.has(v.name) ? 'label' : 'feature' };
  });
}

/**
 * What a scorer should read: the metadata of an exported .onnx file after
 * its content checksum (external data included) has been checked. A
 * mismatch is an error naming the file. A format-1 file predates checksums
 * and is read with `checksum: 'absent'` for the caller to warn about; a
 * newer file without one has lost it to damage and is refused.
 */
export async function readVerifiedOnnx(path: string): Promise<VerifiedOnnx> {
  const bytes = await readFile(path);
  const checksum = await checkChecksum(bytes, path);
  const info = onnxInfoFromBytes(bytes, path);
  if (checksum === 'absent' && info.format !== LEGACY_EXPORT_FORMAT) {
    throw new Error(`${path} is corrupt: format '${info.format}' always carries '${METADATA_KEYS.contentSha256}' but this file has none`);
  }
  return { info, checksum, graph: decodeGraphInputs(bytes) };
}
