import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { mulberry32 } from '../random.js';
import { smallSchema } from '../testing.js';
import { buildModel, MODEL_NAMES, type ModelName } from '../zoo/index.js';
import { artifactFromModel, type ModelArtifact, type StateTensor } from './artifact.js';
import { modelJsonSchema } from './format.js';
import { readArtifact } from './read.js';
import { encodeArtifact, writeArtifact } from './write.js';

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A small zoo model with Adam-like state, a step counter, an empty tensor and rich metadata. */
function sample(name: ModelName, seed: number): ModelArtifact {
  const schema = smallSchema();
  const model = buildModel(schema, { model: name, towers: [8, 4], embeddingDim: 4, numericDim: 3 });
  const weights = initWeights(model.graph, seed);
  // Values whose bits a lossy path would change: -0, the smallest subnormal, the largest float.
  const first = weights.get(model.graph.params[0]!.name)!;
  first.set([-0, 1e-45, 3.4028234663852886e38], 0);
  const rand = mulberry32(seed);
  const state = new Map<string, StateTensor>();
  for (const p of model.graph.params) {
    state.set(`adam/m/${p.name}`, { dtype: 'f32', shape: p.type.shape as number[], data: weights.get(p.name)!.map(() => rand() - 0.5) });
  }
  state.set('step', { dtype: 'i32', shape: [], data: Int32Array.of(-123456) });
  state.set('empty', { dtype: 'f32', shape: [0, 3], data: new Float32Array(0) });
  return artifactFromModel(model, schema, weights, {
    encoders: { user: { vocabulary: ['<oov>', 'u1', 'u2'] }, price: { mean: 3.5, std: 1.25 } },
    metadata: { epoch: 3, trainer: { backend: 'test', lr: 1e-3 }, metrics: { cvrAuc: 0.8486, history: [0.7, 0.8] } },
    state,
  });
}

function expectSameArtifact(actual: ModelArtifact, expected: ModelArtifact): void {
  expect(actual.model).toEqual(expected.model);
  expect(actual.graph).toEqual(expected.graph);
  expect(actual.schema).toEqual(expected.schema);
  expect(actual.encoders).toEqual(expected.encoders);
  expect(actual.metadata).toEqual(expected.metadata);
  expect([...actual.weights.keys()]).toEqual([...expected.weights.keys()]);
  for (const [name, w] of expected.weights) {
    const got = actual.weights.get(name)!;
    expect(got).toBeInstanceOf(Float32Array);
    expect(got.byteOffset % 4).toBe(0);
    expect(Buffer.compare(bytesOf(got), bytesOf(w)), name).toBe(0);
  }
  expect([...(actual.state ?? new Map()).keys()]).toEqual([...(expected.state ?? new Map()).keys()]);
  for (const [name, t] of expected.state ?? []) {
    const got = actual.state!.get(name)!;
    expect({ dtype: got.dtype, shape: got.shape }).toEqual({ dtype: t.dtype, shape: t.shape });
    expect(got.data).toBeInstanceOf(t.dtype === 'f32' ? Float32Array : Int32Array);
    expect(Buffer.compare(bytesOf(got.data), bytesOf(t.data)), name).toBe(0);
  }
}

let parent: string;
beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'esm2-artifact-write-'));
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('writeArtifact + readArtifact', () => {
  it.each(MODEL_NAMES)('round-trips %s bit-exactly, state and metadata included', async (name) => {
    const original = sample(name, 11);
    const dir = join(parent, 'model');
    await writeArtifact(dir, original);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expectSameArtifact(await readArtifact(dir), original);
  });

  it('writes the documented layout: 8-byte-aligned tensors, params first and in graph order', async () => {
    const original = sample('esm2', 1);
    const dir = join(parent, 'model');
    await writeArtifact(dir, original);
    const doc = modelJsonSchema.parse(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')));
    expect(doc).toMatchObject({ format: 'esm2-artifact', formatVersion: 2, weights: { file: 'weights.bin' } });
    expect(doc.weights.tensors.every((t) => t.offset % 8 === 0)).toBe(true);
    const params = doc.weights.tensors.filter((t) => t.group === 'param').map((t) => t.name);
    expect(params).toEqual(original.graph.params.map((p) => p.name));
    expect(doc.weights.tensors.slice(0, params.length).every((t) => t.group === 'param')).toBe(true);
    expect((await readFile(join(dir, 'weights.bin'))).byteLength).toBe(doc.weights.byteLength);
  });

  it('omits state when there is none, and reads encoders back as null when absent', async () => {
    const a = sample('dnn', 2);
    delete a.state;
    a.encoders = undefined;
    const dir = join(parent, 'model');
    await writeArtifact(dir, a);
    const back = await readArtifact(dir);
    expect('state' in back).toBe(false);
    expect(back.encoders).toBeNull();
  });

  it('is deterministic: the same artifact encodes to the same bytes', () => {
    const a = sample('esmm', 5);
    const [x, y] = [encodeArtifact(a), encodeArtifact(a)];
    expect(x.modelJson).toBe(y.modelJson);
    expect(Buffer.compare(x.weightsBin, y.weightsBin)).toBe(0);
  });

  it('replaces an existing artifact and leaves no temp or set-aside directory', async () => {
    const dir = join(parent, 'model');
    await writeArtifact(dir, sample('esm2', 1));
    const second = sample('esmm', 2);
    await writeArtifact(dir, second);
    expectSameArtifact(await readArtifact(dir), second);
    expect(await readdir(parent)).toEqual(['model']);
  });

  it('leaves the previous artifact intact and nothing behind when validation fails (NaN weight)', async () => {
    const dir = join(parent, 'model');
    const first = sample('esm2', 1);
    await writeArtifact(dir, first);
    const bad = sample('esm2', 2);
    bad.weights.get('y3/l0/w')![17] = Number.NaN;
    await expect(writeArtifact(dir, bad)).rejects.toThrow("param 'y3/l0/w' has a non-finite value (NaN) at index 17");
    expect(await readdir(parent)).toEqual(['model']);
    expectSameArtifact(await readArtifact(dir), first);
  });

  it('rejects a missing weight before touching the disk', async () => {
    const a = sample('dnn-os', 1);
    a.weights.delete('emb/tags');
    await expect(writeArtifact(join(parent, 'model'), a)).rejects.toThrow("param 'emb/tags' has no weights");
    expect(await readdir(parent)).toEqual([]);
  });

  it('rejects metadata that JSON would silently change', async () => {
    const a = sample('dnn', 1);
    a.metadata.metrics = { auc: Number.NaN };
    await expect(writeArtifact(join(parent, 'model'), a)).rejects.toThrow('invalid artifact: model.json.metadata.metrics.auc: NaN is not representable in JSON');
    a.metadata.metrics = { at: new Date() };
    await expect(writeArtifact(join(parent, 'model'), a)).rejects.toThrow('a Date is not plain JSON');
    expect(await readdir(parent)).toEqual([]);
  });

  it('creates missing parent directories', async () => {
    const dir = join(parent, 'runs', 'a', 'model');
    const a = sample('dnn', 1);
    await writeArtifact(dir, a);
    expectSameArtifact(await readArtifact(dir), a);
  });

  it('refuses to overwrite a directory that is not an artifact, or a file', async () => {
    const dir = join(parent, 'home');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'precious');
    await expect(writeArtifact(dir, sample('dnn', 1))).rejects.toThrow(/refusing to overwrite .*home: it is a non-empty directory without model.json/);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('precious');
    await expect(writeArtifact(join(dir, 'notes.txt'), sample('dnn', 1))).rejects.toThrow('exists and is not a directory');
    expect((await readdir(parent)).sort()).toEqual(['home']);
  });

  it('writes into an existing empty directory', async () => {
    const dir = join(parent, 'model');
    await mkdir(dir);
    const a = sample('esm2', 4);
    await writeArtifact(dir, a);
    expectSameArtifact(await readArtifact(dir), a);
  });
});
