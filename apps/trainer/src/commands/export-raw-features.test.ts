import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxSession, readVerifiedOnnx } from '@esm2/backend-onnx';
import { checkOnnxFiles } from '@esm2/backend-onnx/testing';
import { artifactFromModel, buildModel, initWeights, pruneGraph } from '@esm2/core';
import { writeArtifact } from '@esm2/core/node';
import { Encoders, batchToFeeds, rawFeatureEncodings, rawFeeds } from '@esm2/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCli } from '../test-support/export-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-train-export-raw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fitted encoders as training leaves them: vocabularies, a tag list, z-score and min-max numerics; `hashItem` hashes the item field instead. */
function fittedEncoders(hashItem = false): Encoders {
  const config = {
    csv: {},
    labels: { click: 'click', daction: ['cart'], buy: 'buy' },
    fields: [
      { kind: 'categorical' as const, name: 'user', column: 'user_id', encoding: { kind: 'vocabulary' as const, minCount: 1 } },
      {
        kind: 'categorical' as const,
        name: 'item',
        column: 'item_id',
        embeddingDim: 3,
        encoding: hashItem ? { kind: 'hash' as const, buckets: 11 } : { kind: 'vocabulary' as const, minCount: 1 },
      },
      { kind: 'multiCategorical' as const, name: 'tags', column: 'tags', encoding: { kind: 'vocabulary' as const, minCount: 1 }, separator: '|', maxLength: 9, pooling: 'mean' as const },
      { kind: 'numeric' as const, name: 'price', column: 'price', normalization: 'zscore' as const },
      { kind: 'numeric' as const, name: 'age', column: 'age', normalization: 'minmax' as const },
    ],
    userField: 'user',
    keys: [],
    truth: {},
  };
  const state = {
    vocabularies: { user: ['u1', 'u2', 'u3', 'u4'], item: ['i1', 'i2', '17'], tags: ['a', 'b', 'c', 'd'] },
    numeric: { price: { count: 9, mean: 31.7, std: 12.3, min: 3, max: 80 }, age: { count: 9, mean: 41, std: 11, min: 18, max: 77 } },
    maxLength: { tags: 3 },
  };
  return new Encoders(config, state);
}

async function writeRun(name: string, encoders: Encoders): Promise<string> {
  const model = buildModel(encoders.schema, { towers: [8] });
  const run = join(dir, name);
  await writeArtifact(run, artifactFromModel(model, encoders.schema, initWeights(model.graph, 4), { encoders: encoders.toJSON() }));
  return run;
}

let run: string;
beforeAll(async () => {
  run = await writeRun('vocab', fittedEncoders());
});

/** Raw rows as esm2-score takes them: known, unseen (string and number) and missing categories, lists short, long, empty and with an empty item. */
const ROWS: Record<string, unknown>[] = [
  { user_id: 'u2', item_id: 'i1', tags: 'a|c', price: 12.5, age: 30 },
  { user_id: 'never-seen', item_id: 17, tags: 'b|zz|d|a|c', price: 95.25, age: 18 },
  { user_id: null, item_id: 'i9', tags: '', price: 31.7, age: 77 },
  { user_id: '', item_id: 'i2', tags: ['d', 'yy'], price: -4, age: 50.5 },
  { user_id: 'u4', item_id: 'i2', tags: 'a||b', price: 0, age: 41 },
  { user_id: 7, item_id: 'i1', tags: 'c', price: 1e3, age: 0 },
];

describe('esm2-train export --raw-features', () => {
  it('writes a model the full ONNX checker accepts, verified on raw rows, and marked as taking raw features', async (test) => {
    const path = join(dir, 'raw.onnx');
    const text = await exportCli('--model', run, '--onnx', path, '--raw-features');
    expect(text).toMatch(/inputs raw feature values/);
    expect(text).toMatch(/verified: onnxruntime on raw rows matches the encoders and the reference interpreter within .* on 64 sample rows/);
    checkOnnxFiles(test, [path]);
    const { info } = await readVerifiedOnnx(path);
    expect(info.rawFeatures?.map((i) => [i.name, i.type, i.shape])).toEqual([
      ['user', 'string', ['batch']],
      ['item', 'string', ['batch']],
      ['tags', 'string', ['batch', 3]],
      ['price', 'float', ['batch']],
      ['age', 'float', ['batch']],
    ]);
  });

  it("scores raw rows, unseen values included, as the scorer does (encoders, then the id-input model) within 1e-6", async () => {
    const rawPath = join(dir, 'eq-raw.onnx');
    const idPath = join(dir, 'eq-ids.onnx');
    await exportCli('--model', run, '--onnx', rawPath, '--raw-features', '--no-verify');
    await exportCli('--model', run, '--onnx', idPath, '--no-verify');
    // The scorer's path: the encoders from the id-input file's metadata, its pruned graph's inputs, the id model.
    const { info } = await readVerifiedOnnx(idPath);
    const encoders = Encoders.fromJSON(info.encoders);
    const ids = await OnnxSession.load(idPath);
    const raw = await OnnxSession.load(rawPath);
    try {
      const graph = pruneGraph(buildModel(info.schema, info.model.config).graph, info.outputs);
      const batch = encoders.encodeRows(ROWS);
      const feeds = batchToFeeds(graph, batch);
      expect(Array.from(batch.features.user!)).toEqual([2, 0, 0, 0, 4, 0]); // unseen, null, "" and an unseen number are all OOV
      const want = await ids.run(feeds);
      const got = await raw.run(rawFeeds(rawFeatureEncodings(encoders), ROWS));
      for (const o of info.outputs) {
        expect(got[o]!.data).toHaveLength(ROWS.length);
        for (let i = 0; i < ROWS.length; i++) expect(Math.abs(got[o]!.data[i]! - want[o]!.data[i]!), `${o} row ${i}`).toBeLessThanOrEqual(1e-6);
      }
      expect(new Set(got.pctcvr!.data).size).toBe(ROWS.length);
    } finally {
      await ids.release();
      await raw.release();
    }
  });

  it('refuses a hash-encoded field, naming it and why, writes nothing, and the plain export still works', async () => {
    const hashed = await writeRun('hashed', fittedEncoders(true));
    const path = join(dir, 'hashed.onnx');
    await expect(exportCli('--model', hashed, '--onnx', path, '--raw-features')).rejects.toThrow(
      /--raw-features cannot be exported: field 'item' is hash-encoded \(11 buckets\): standard ONNX has no string hash operator.*Export without --raw-features/,
    );
    expect(existsSync(path)).toBe(false);
    expect(await exportCli('--model', hashed, '--onnx', path)).toMatch(/verified: onnxruntime matches the reference interpreter/);
    expect((await readVerifiedOnnx(path)).info.rawFeatures).toBeUndefined();
  });

  it('takes --raw-features with --onnx only', async () => {
    await expect(exportCli('--model', run, '--triton', join(dir, 'repo'), '--raw-features')).rejects.toThrow('--raw-features applies to --onnx only');
  });
});
