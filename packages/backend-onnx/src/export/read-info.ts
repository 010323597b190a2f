import { readFile } from 'node:fs/promises';
import { decodeMetadataProps } from '../proto/codec.js';
import { parseExportMetadata, type OnnxModelInfo } from './metadata.js';

/** The schema, encoders and version an exported .onnx file carries, without decoding its graph. */
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
