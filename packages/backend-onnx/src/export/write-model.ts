import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { encodeModel } from '../proto/codec.js';
import { appendChecksum } from './checksum.js';
import { METADATA_KEYS } from './metadata.js';
import type { ModelProto } from '../proto/types.js';
import { writeFileAtomic } from '@esm2/core/node';
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
 * The file ends with a content checksum over itself and its data file
 * (`esm2.content_sha256`), which loaders check.
 */
export async function writeOnnxModel(path: string, model: ModelProto, options: ExternalDataOptions = {}): Promise<WrittenModel> {
  const dataPath = `${path}.data`;
  if (!needsExternalData(model, options)) {
    const bytes = appendChecksum(encodeModel(withoutChecksum(model)), []);
    await writeFileAtomic(path, (write) => write(bytes, 0));
    await rm(dataPath, { force: true });
    return { path, bytes: bytes.byteLength };
  }
  const split = externalize(model, basename(dataPath), options.minTensorBytes);
  await writeFileAtomic(dataPath, async (write) => {
    for (const chunk of split.chunks) await write(chunk.data, chunk.offset);
  });
  const bytes = appendChecksum(
    encodeModel(withoutChecksum(split.model)),
    split.chunks.map((c) => c.data),
  );
  await writeFileAtomic(path, (write) => write(bytes, 0));
  return { path, dataPath, bytes: bytes.byteLength };
}

/** A model read back and written again must not carry its old checksum entry next to the new one. */
function withoutChecksum(model: ModelProto): ModelProto {
  const props = model.metadata_props?.filter((p) => p.key !== METADATA_KEYS.contentSha256);
  return props === undefined ? model : { ...model, metadata_props: props };
}
