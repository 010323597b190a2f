import { readFile } from 'node:fs/promises';
import { decodeMetadataProps } from '../proto/codec.js';
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
  return { info, checksum };
}
