import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { encodeModel } from '../proto/codec.js';
import type { ModelProto } from '../proto/types.js';
import { writeFileAtomic } from '@esm2/core';
import { externalize, needsExternalData, type ExternalDataOptions } from './external-data.js';

export interface WrittenModel {
  path: string;
  /** The external-data file, when the weights did not fit in the protobuf. */
  dataPath?: string;
  /** Bytes of the .onnx file itself. */
  bytes: number;
}

/**
 * Writes a model to `path`, moving weights to `<path>.data` when they would
 * push the file past the protobuf limit (or past `threshold`, for tests).
 * The data file is written first, so a crash never leaves an .onnx pointing
 * at missing weights; a stale data file from an earlier export is removed.
 */
export async function writeOnnxModel(path: string, model: ModelProto, options: ExternalDataOptions = {}): Promise<WrittenModel> {
  const dataPath = `${path}.data`;
  if (!needsExternalData(model, options)) {
    const bytes = encodeModel(model);
    await writeFileAtomic(path, (write) => write(bytes, 0));
    await rm(dataPath, { force: true });
    return { path, bytes: bytes.byteLength };
  }
  const split = externalize(model, basename(dataPath), options.minTensorBytes);
  await writeFileAtomic(dataPath, async (write) => {
    for (const chunk of split.chunks) await write(chunk.data, chunk.offset);
  });
  const bytes = encodeModel(split.model);
  await writeFileAtomic(path, (write) => write(bytes, 0));
  return { path, dataPath, bytes: bytes.byteLength };
}
