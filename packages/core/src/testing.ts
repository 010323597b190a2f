import { execFile } from 'node:child_process';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from './random.js';
import type { HostTensor } from './ir/tensor.js';
import type { Graph } from './ir/types.js';
import { concreteShape, sizeOf } from './ir/shape.js';
import { parseFeatureSchema, tableSize, type FeatureSchema } from './schema.js';

/**
 * Fixtures shared by the tests of every package: a small schema touching each
 * field kind, and random feeds that respect the behaviour graph.
 */
export function smallSchema(): FeatureSchema {
  return parseFeatureSchema({
    fields: [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 7 } },
      { kind: 'categorical', name: 'item', encoding: { kind: 'hash', buckets: 11 }, embeddingDim: 3 },
      { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', size: 5 }, maxLength: 3, pooling: 'mean' },
      { kind: 'numeric', name: 'price' },
      { kind: 'numeric', name: 'age' },
    ],
    userField: 'user',
  });
}

/**
 * Random inputs for every graph input: ids in range (multi-valued ones with
 * some -1 padding), standard-normal numerics, and labels with
 * daction/buy only on clicked rows.
 */
export function randomFeeds(graph: Graph, schema: FeatureSchema, batch: number, seed: number): Record<string, HostTensor> {
  const rand = mulberry32(seed);
  const feeds: Record<string, HostTensor> = {};
  const click = Float32Array.from({ length: batch }, () => (rand() < 0.5 ? 1 : 0));
  const labels: Record<string, Float32Array> = {
    click,
    daction: click.map((c) => (c && rand() < 0.5 ? 1 : 0)),
    buy: click.map((c) => (c && rand() < 0.4 ? 1 : 0)),
  };
  for (const input of graph.inputs) {
    const shape = concreteShape(input.type.shape, batch);
    const field = schema.fields.find((f) => f.name === input.name);
    if (input.role === 'label') {
      feeds[input.name] = { shape, data: labels[input.name]! };
    } else if (field && field.kind !== 'numeric') {
      const size = tableSize(field);
      const data = Int32Array.from({ length: sizeOf(shape) }, (_, i) =>
        field.kind === 'multiCategorical' && i % shape[1]! > 0 && rand() < 0.3 ? -1 : Math.floor(rand() * size),
      );
      feeds[input.name] = { shape, data };
    } else {
      feeds[input.name] = { shape, data: Float32Array.from({ length: sizeOf(shape) }, () => (rand() * 2 - 1) * 1.5) };
    }
  }
  return feeds;
}

/**
 * A tiny tmpfs (default 1 MiB) mounted on a fresh directory, for full-disk
 * tests; or, where mounting is not permitted (not root, no CAP_SYS_ADMIN,
 * not Linux), why not, so the caller can skip with that reason.
 */
export async function mountTinyTmpfs(size = '1m'): Promise<{ dir: string; unmount: () => Promise<void> } | { reason: string }> {
  const run = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve())));
  if (process.platform !== 'linux') return { reason: `tmpfs needs Linux (this is ${process.platform})` };
  const dir = await mkdtemp(join(tmpdir(), 'esm2-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  } catch (e) {
    await rmdir(dir);
    return { reason: `cannot mount a tmpfs here: ${(e as Error).message}` };
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', [dir]);
      await rmdir(dir);
    },
  };
}

/**
 * Largest |got − want| / max(1, |want|) over all elements: absolute for
 * probabilities and small gradients, relative for large loss-like values;
 * Infinity for a length mismatch or a NaN. How every backend's parity test
 * compares with the interpreter.
 */
export function worstError(got: ArrayLike<number>, want: HostTensor): number {
  if (got.length !== want.data.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const w = want.data[i]!;
    const err = Math.abs(got[i]! - w) / Math.max(1, Math.abs(w));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}
