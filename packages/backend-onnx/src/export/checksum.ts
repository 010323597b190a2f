import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { onnxRoot } from '../proto/codec.js';
import { DataLocation } from '../proto/types.js';
import { METADATA_KEYS } from './metadata.js';

/**
 * The content checksum of an exported model: sha256 over every byte of the
 * .onnx file except its own metadata entry (graph, weights, metadata,
 * opset…), followed by the bytes of each externally stored initializer in
 * graph order. It catches corruption (a flipped weight byte would otherwise
 * be served as slightly wrong scores); it is not a signature, anyone who can
 * edit the file can recompute it.
 *
 * The entry is appended after everything else: concatenated protobuf
 * encodings merge, so this is an ordinary metadata_props entry to every
 * reader, and the bytes before it are exactly what was hashed.
 */
const CHECKSUM_KEY = METADATA_KEYS.contentSha256;

const MODEL_GRAPH_FIELD = 7;
const MODEL_METADATA_FIELD = 14;
const LENGTH_DELIMITED = 2;
const READ_CHUNK = 16 * 2 ** 20;

const GraphType = onnxRoot.lookupType('onnx.GraphProto');
const EntryType = onnxRoot.lookupType('onnx.StringStringEntryProto');

/** Model bytes (without a checksum entry) followed by the checksum entry over them and the external data. */
export function appendChecksum(modelBytes: Uint8Array, external: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256').update(modelBytes);
  for (const chunk of external) hash.update(chunk);
  const entry = protobuf.Writer.create()
    .uint32((MODEL_METADATA_FIELD << 3) | LENGTH_DELIMITED)
    .fork()
    .uint32((1 << 3) | LENGTH_DELIMITED)
    .string(CHECKSUM_KEY)
    .uint32((2 << 3) | LENGTH_DELIMITED)
    .string(hash.digest('hex'))
    .ldelim()
    .finish();
  const out = new Uint8Array(modelBytes.byteLength + entry.byteLength);
  out.set(modelBytes, 0);
  out.set(entry, modelBytes.byteLength);
  return out;
}

interface TopLevel {
  /** The checksum entry's value and where the entry (tag included) sits in the file. */
  checksum?: { value: string; start: number; end: number };
  graph?: Uint8Array;
}

/** Walks the top-level fields of ModelProto bytes, decoding only the checksum entry. */
function scanModel(bytes: Uint8Array): TopLevel {
  const reader = protobuf.Reader.create(bytes);
  const found: TopLevel = {};
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    if ((tag & 7) === LENGTH_DELIMITED && (field === MODEL_METADATA_FIELD || field === MODEL_GRAPH_FIELD)) {
      const payload = reader.bytes();
      if (field === MODEL_GRAPH_FIELD) {
        found.graph = payload;
        continue;
      }
      const entry = EntryType.decode(payload) as unknown as { key?: string; value?: string };
      if (entry.key === CHECKSUM_KEY) found.checksum = { value: String(entry.value ?? ''), start, end: reader.pos };
    } else {
      reader.skipType(tag & 7);
    }
  }
  return found;
}

interface ExternalRange {
  location: string;
  offset: number;
  length?: number;
}

/** External-data references of the graph's initializers, in graph order. */
function externalRanges(graph: Uint8Array | undefined): ExternalRange[] {
  if (!graph) return [];
  const message = GraphType.decode(graph) as unknown as {
    initializer?: { name?: string; data_location?: number; external_data?: { key?: string; value?: string }[] }[];
  };
  const ranges: ExternalRange[] = [];
  for (const t of message.initializer ?? []) {
    if (t.data_location !== DataLocation.EXTERNAL) continue;
    const kv = new Map((t.external_data ?? []).map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) throw new Error(`initializer '${t.name ?? ''}' is stored externally but names no location`);
    const range: ExternalRange = { location, offset: Number(kv.get('offset') ?? 0) };
    if (kv.has('length')) range.length = Number(kv.get('length'));
    ranges.push(range);
  }
  return ranges;
}

async function hashRange(hash: Hash, path: string, range: ExternalRange): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw new Error(`cannot read its external data ${path}: ${(e as Error).message}`);
  }
  try {
    const size = (await handle.stat()).size;
    const end = range.length === undefined ? size : range.offset + range.length;
    if (end > size) throw new Error(`its external data ${path} is truncated: ${size} bytes, an initializer needs bytes up to ${end}`);
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, end - range.offset)));
    for (let at = range.offset; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, end - at), at);
      if (bytesRead === 0) throw new Error(`its external data ${path} ended early at byte ${at}`);
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

export type ChecksumStatus = 'verified' | 'absent';

/**
 * Recomputes the checksum of model bytes read from `path` (external data
 * files are resolved beside it). Returns 'absent' when the file carries none
 * and throws, naming the file, when it does not match.
 */
export async function checkChecksum(bytes: Uint8Array, path: string): Promise<ChecksumStatus> {
  let top: TopLevel;
  let ranges: ExternalRange[];
  try {
    top = scanModel(bytes);
    ranges = top.checksum ? externalRanges(top.graph) : [];
  } catch (e) {
    throw new Error(`${path} is not a readable ONNX model: ${(e as Error).message}`);
  }
  const stored = top.checksum;
  if (!stored) return 'absent';
  const hash = createHash('sha256').update(bytes.subarray(0, stored.start)).update(bytes.subarray(stored.end));
  const dir = dirname(resolve(path));
  try {
    for (const range of ranges) await hashRange(hash, resolve(dir, range.location), range);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const actual = hash.digest('hex');
  if (actual !== stored.value) {
    throw new Error(
      `${path} is corrupt: its content checksum sha256 ${actual} does not match the ${stored.value} recorded at export ` +
        `(the file or its external data changed since it was written); export the model again`,
    );
  }
  return 'verified';
}
