import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromModel, buildModel, initWeights, parseFeatureSchema, type ModelArtifact } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../proto/codec.js';
import { DataType } from '../proto/types.js';
import { OnnxSession } from '../runtime/session.js';
import { checkOnnxFiles } from '../test-support/onnx-checker.js';
import { artifactToModelProto, exportArtifactToOnnx } from './export.js';
import { METADATA_KEYS } from './metadata.js';
import type { RawFieldEncoding } from './raw-features.js';
import { readVerifiedOnnx } from './read-info.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-raw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = parseFeatureSchema({
  fields: [
    { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 4 } },
    { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', size: 4 }, maxLength: 3, pooling: 'mean' },
    { kind: 'numeric', name: 'price' },
  ],
  userField: 'user',
});
const encodings: RawFieldEncoding[] = [
  { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', values: ['u1', 'u2', 'u3'] } },
  { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', values: ['a', 'b', 'c'] }, maxLength: 3 },
  { kind: 'numeric', name: 'price', shift: 10, scale: 0.25 },
];

function artifact(): ModelArtifact {
  const model = buildModel(schema, { towers: [6] });
  return artifactFromModel(model, schema, initWeights(model.graph, 3));
}

describe('--raw-features export', () => {
  it('passes the full ONNX check and scores raw rows as the id-input model scores their encoded ids', async (test) => {
    const a = artifact();
    const rawPath = join(dir, 'raw.onnx');
    const idPath = join(dir, 'ids.onnx');
    await exportArtifactToOnnx(a, rawPath, { rawFeatures: encodings });
    await exportArtifactToOnnx(a, idPath);
    checkOnnxFiles(test, [rawPath]);

    // Known, unseen and empty categories; lists short, full and empty; numbers on both sides of the shift.
    const users = ['u2', 'zz', '', 'u3'];
    const tags = ['a', 'c', '', 'nope', 'b', 'a', '', '', '', 'c', '', ''];
    const price = Float32Array.of(12.5, 3, 10, -7.25);
    const raw = await ort.InferenceSession.create(rawPath);
    const got = await raw.run({
      user: new ort.Tensor('string', users, [4]),
      tags: new ort.Tensor('string', tags, [4, 3]),
      price: new ort.Tensor('float32', price, [4]),
    });
    const ids = await OnnxSession.load(idPath);
    const want = await ids.run({
      user: { shape: [4], data: Int32Array.of(2, 0, 0, 3) },
      tags: { shape: [4, 3], data: Int32Array.of(1, 3, -1, 0, 2, 1, -1, -1, -1, 3, -1, -1) },
      price: { shape: [4], data: Float32Array.from(price, (x) => (x - 10) * 0.25) },
    });
    await ids.release();
    for (const o of [...a.model.predictions, ...a.model.towers]) {
      const g = got[o]!.data as Float32Array;
      expect(g).toHaveLength(4);
      for (let i = 0; i < 4; i++) expect(Math.abs(g[i]! - want[o]!.data[i]!)).toBeLessThanOrEqual(1e-6);
    }
    // Not a constant model: the rows really score differently.
    expect(new Set(got.pctcvr!.data as Float32Array).size).toBeGreaterThan(1);
  });

  it('maps no string to a row freed by eviction (null in the vocabulary): the ids around it keep theirs', async () => {
    const path = join(dir, 'freed.onnx');
    const freed: RawFieldEncoding[] = [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', values: ['u1', null, 'u3'] } },
      { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', values: [null, 'b', 'c'] }, maxLength: 3 },
      encodings[2]!,
    ];
    const a = artifact();
    await exportArtifactToOnnx(a, path, { rawFeatures: freed });
    const idPath = join(dir, 'freed-ids.onnx');
    await exportArtifactToOnnx(a, idPath);
    const raw = await ort.InferenceSession.create(path);
    const price = Float32Array.of(10, 11, 12);
    // 'u2' and 'a' were evicted: OOV (0) now, like any unseen value; 'null' is just a string nobody has.
    const got = await raw.run({
      user: new ort.Tensor('string', ['u3', 'u2', 'null'], [3]),
      tags: new ort.Tensor('string', ['a', 'b', 'c', 'c', '', '', 'null', 'a', ''], [3, 3]),
      price: new ort.Tensor('float32', price, [3]),
    });
    const ids = await OnnxSession.load(idPath);
    const want = await ids.run({
      user: { shape: [3], data: Int32Array.of(3, 0, 0) },
      tags: { shape: [3, 3], data: Int32Array.of(0, 2, 3, 3, -1, -1, 0, 0, -1) },
      price: { shape: [3], data: Float32Array.from(price, (x) => (x - 10) * 0.25) },
    });
    await ids.release();
    for (const o of a.model.predictions) {
      const g = got[o]!.data as Float32Array;
      for (let i = 0; i < 3; i++) expect(Math.abs(g[i]! - want[o]!.data[i]!)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('declares string and float raw inputs, the ai.onnx.ml opset, and says so in metadata', async () => {
    const path = join(dir, 'meta.onnx');
    await exportArtifactToOnnx(artifact(), path, { rawFeatures: encodings });
    const model = decodeModel(readFileSync(path));
    expect(model.opset_import).toEqual([
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 2 },
    ]);
    const inputs = Object.fromEntries(model.graph.input.map((i) => [i.name, i.type.tensor_type]));
    expect(inputs.user!.elem_type).toBe(DataType.STRING);
    expect(inputs.tags!.elem_type).toBe(DataType.STRING);
    expect(inputs.tags!.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }]);
    expect(inputs.price!.elem_type).toBe(DataType.FLOAT);
    const { info } = await readVerifiedOnnx(path);
    expect(info.rawFeatures).toEqual([
      { name: 'user', kind: 'categorical', type: 'string', shape: ['batch'] },
      { name: 'tags', kind: 'multiCategorical', type: 'string', shape: ['batch', 3] },
      { name: 'price', kind: 'numeric', type: 'float', shape: ['batch'] },
    ]);
    // The plain export stays the default and does not carry the key.
    await exportArtifactToOnnx(artifact(), join(dir, 'plain.onnx'));
    expect(decodeModel(readFileSync(join(dir, 'plain.onnx'))).metadata_props!.map((p) => p.key)).not.toContain(METADATA_KEYS.rawFeatures);
    expect((await readVerifiedOnnx(join(dir, 'plain.onnx'))).info.rawFeatures).toBeUndefined();
  });

  it('is the same graph whatever the idType: strings in, the encoders\' int64 ids inside', () => {
    const a = artifact();
    const bytes = encodeModel(artifactToModelProto(a, { rawFeatures: encodings }));
    expect(encodeModel(artifactToModelProto(a, { rawFeatures: encodings, idType: 'int32' }))).toEqual(bytes);
    expect(encodeModel(artifactToModelProto(a, { rawFeatures: encodings, idType: 'int64' }))).toEqual(bytes);
    const model = decodeModel(bytes);
    expect(model.graph.node.filter((n) => n.op_type === 'LabelEncoder').map((n) => n.output[0])).toEqual(['%raw/user', '%raw/tags']);
    expect(model.graph.input.map((i) => i.type.tensor_type.elem_type)).toEqual([DataType.STRING, DataType.STRING, DataType.FLOAT]);
  });

  it('lets a missing (NaN) number through to NaN scores rather than imputing a value', async () => {
    const path = join(dir, 'nan.onnx');
    await exportArtifactToOnnx(artifact(), path, { rawFeatures: encodings });
    const raw = await ort.InferenceSession.create(path);
    const got = await raw.run({
      user: new ort.Tensor('string', ['u1', 'u1'], [2]),
      tags: new ort.Tensor('string', ['a', '', '', 'a', '', ''], [2, 3]),
      price: new ort.Tensor('float32', Float32Array.of(NaN, 11), [2]),
    });
    const pctr = got.pctr!.data as Float32Array;
    expect(Number.isNaN(pctr[0])).toBe(true);
    expect(Number.isFinite(pctr[1])).toBe(true);
  });

  it('refuses a hash-encoded field, naming it and the reason, and writes nothing', async () => {
    const s = smallSchema();
    const model = buildModel(s, { towers: [4] });
    const a = artifactFromModel(model, s, initWeights(model.graph, 1));
    const hashed: RawFieldEncoding[] = [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', values: ['u1'] } },
      { kind: 'categorical', name: 'item', encoding: { kind: 'hash', buckets: 11 } },
      { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', values: ['a'] }, maxLength: 3 },
      { kind: 'numeric', name: 'price', shift: 0, scale: 1 },
      { kind: 'numeric', name: 'age', shift: 0, scale: 1 },
    ];
    const path = join(dir, 'hashed.onnx');
    await expect(exportArtifactToOnnx(a, path, { rawFeatures: hashed })).rejects.toThrow(
      "--raw-features cannot be exported: field 'item' is hash-encoded (11 buckets): standard ONNX has no string hash operator",
    );
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
    await expect(exportArtifactToOnnx(a, path, { rawFeatures: hashed.filter((e) => e.name !== 'age') })).rejects.toThrow(
      "the model input 'age' has no encoder",
    );
  });
});
