import type { ShardsManifest } from '@esm2/data';
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A copy of the encoded directory `from` at `to` with column `key` of shard
 * `k` edited in place. The manifest's sha256 follows the edit unless
 * `rehash` is false: a writer's bug rather than damage, so the values must
 * be refused on their own.
 */
export async function editedShards(from: string, to: string, k: number, key: string, edit: (a: Int32Array | Float32Array) => void, rehash = true) {
  await cp(from, to, { recursive: true });
  const manifestPath = join(to, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardsManifest;
  const file = join(to, manifest.shards[k]!.columns[key]!.file);
  const bytes = await readFile(file);
  const values = manifest.columns[key]!.dtype === '<i4' ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  edit(values);
  await writeFile(file, bytes);
  if (rehash) manifest.shards[k]!.columns[key]!.sha256 = sha256(bytes);
  await writeFile(manifestPath, JSON.stringify(manifest));
  return { dir: to, file, manifestPath, manifest };
}

/** Every file under the directories with its sha256: what a refusal must leave as it was. */
export async function fileHashes(...dirs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dir of dirs) {
    for (const f of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
      const p = join(f.parentPath, f.name);
      out[p] = sha256(await readFile(p));
    }
  }
  return out;
}
