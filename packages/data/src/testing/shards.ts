import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, type ShardsManifest } from '../shards/manifest.js';

/**
 * A copy of the encoded-shards directory `from` at `to` with column `key`
 * of shard `k` edited in place by `edit` (given the column's values, i32 or
 * f32 as stored). The manifest's sha256 follows the edit unless `rehash` is
 * false: with it, a writer's bug rather than damage, so the values must be
 * refused on their own; without it, damage the checksum shows.
 */
export async function editedShards(from: string, to: string, k: number, key: string, edit: (a: Int32Array | Float32Array) => void, rehash = true) {
  await cp(from, to, { recursive: true });
  const manifestPath = join(to, MANIFEST_FILE);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardsManifest;
  const file = join(to, manifest.shards[k]!.columns[key]!.file);
  const bytes = await readFile(file);
  const values = manifest.columns[key]!.dtype === '<i4' ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  edit(values);
  await writeFile(file, bytes);
  if (rehash) manifest.shards[k]!.columns[key]!.sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(manifestPath, JSON.stringify(manifest));
  return { dir: to, file, manifestPath, manifest };
}
