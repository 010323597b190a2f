import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromModel, initWeights, interpret, pruneGraph, type ModelArtifact } from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { randomFeeds, smallSchema, worstError } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../proto/codec.js';
import { DataType } from '../proto/types.js';
import { OnnxSession } from '../runtime/session.js';
import { zooModel } from '../test-support/graphs.js';
import { checkOnnxFiles } from '../test-support/onnx-checker.js';
import { sgdTrain } from '../test-support/train.js';
import { exportArtifactToOnnx } from './export.js';
import { METADATA_KEYS, LEGACY_EXPORT_FORMAT } from './metadata.js';
import { irInputs, readOnnxInfo, readVerifiedOnnx } from './read-info.js';
import { verifyExport } from './verify.js';
import { writeOnnxModel } from './write-model.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = smallSchema();
const encoders = { version: 1, fields: { user: { vocabulary: ['u1', 'u2'] } } };
let artifact: ModelArtifact;
let trainLosses: number[];

/** A trained artifact as the trainer leaves it: written to disk and read back through core's artifact format. */
beforeAll(async () => {
  const model = zooModel('esm2');
  const trained = sgdTrain(model, schema, initWeights(model.graph, 5), 12);
  trainLosses = trained.losses;
  await writeArtifact(join(dir, 'run'), artifactFromModel(model, schema, trained.weights, { encoders, metadata: { epoch: 3 } }));
  artifact = await readArtifact(join(dir, 'run'));
});

async function parity(path: string, a: ModelArtifact): Promise<number> {
  const session = await OnnxSession.load(path);
  const outputs = [...a.model.predictions, ...a.model.towers];
  const feeds = randomFeeds(a.graph, a.schema, 50, 9);
  const want = interpret(a.graph, a.weights, feeds, { outputs });
  const got = await session.run(feeds);
  await session.release();
  return Math.max(...outputs.map((o) => worstError(got[o]!.data, want[o]!)));
}

describe('exporting an artifact', () => {
  it('of a trained model matches the interpreter within 1e-5 and passes the checker', async (test) => {
    expect(trainLosses.at(-1)!).toBeLessThan(trainLosses[0]!); // the weights really were trained
    const path = join(dir, 'trained.onnx');
    const written = await exportArtifactToOnnx(artifact, path, { source: 'runs/test' });
    expect(written.dataPath).toBeUndefined();
    checkOnnxFiles(test, [path]);
    expect(await parity(path, artifact)).toBeLessThan(1e-5);
  });

  it('carries schema, encoders, model info and version in metadata_props', async () => {
    const path = join(dir, 'meta.onnx');
    await exportArtifactToOnnx(artifact, path, { source: 'runs/test' });
    const info = await readOnnxInfo(path);
    expect(info.schema).toEqual(schema);
    expect(info.encoders).toEqual(encoders);
    expect(info.model.name).toBe('esm2');
    expect(info.outputs).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr', 'y1', 'y2', 'y3', 'y4']);
    expect(info.predictions).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr']);
    expect(info.source).toBe('runs/test');
    expect(info.artifactMetadata.epoch).toBe(3);
    expect(info.modelVersion).toMatch(/^sha256:[0-9a-f]{16}$/);
    const model = decodeModel(readFileSync(path));
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.ir_version).toBe(8);
    expect(model.metadata_props!.map((p) => p.key)).toContain(METADATA_KEYS.encodersSha256);
  });

  it('gives the same content version to the same weights and a new one when a weight changes', async () => {
    const a = join(dir, 'v1.onnx');
    const b = join(dir, 'v2.onnx');
    await exportArtifactToOnnx(artifact, a);
    const changed = new Map(artifact.weights);
    const w = Float32Array.from(changed.get('y3/out/b')!);
    w[0]! += 1e-3;
    changed.set('y3/out/b', w);
    await exportArtifactToOnnx({ ...artifact, weights: changed }, b);
    await exportArtifactToOnnx(artifact, join(dir, 'v1-again.onnx'));
    expect((await readOnnxInfo(join(dir, 'v1-again.onnx'))).modelVersion).toBe((await readOnnxInfo(a)).modelVersion);
    expect((await readOnnxInfo(b)).modelVersion).not.toBe((await readOnnxInfo(a)).modelVersion);
  });

  it('exports every zoo model the artifact format can hold', async () => {
    for (const variant of ['esmm', 'dnn', 'dnn-os', 'esm2-dot', 'esm2-cross', 'dnn-dot']) {
      const model = zooModel(variant);
      const a = artifactFromModel(model, schema, initWeights(model.graph, 2));
      const path = join(dir, `${variant}.onnx`);
      await exportArtifactToOnnx(a, path);
      expect((await readOnnxInfo(path)).predictions).toEqual(model.predictions);
      expect(await parity(path, a)).toBeLessThan(1e-5);
    }
  });

  it('rejects a file that is not an esm2 export with a clear message', async () => {
    const path = join(dir, 'bogus.onnx');
    writeFileSync(path, Buffer.from('not a model at all, just text'));
    await expect(readOnnxInfo(path)).rejects.toThrow(/bogus\.onnx/);
  });
});

describe('external data', () => {
  it('moves weights to <file>.data past the threshold; checker, runtime and parity all follow it', async (test) => {
    const path = join(dir, 'ext.onnx');
    const written = await exportArtifactToOnnx(artifact, path, { externalData: { threshold: 1000, minTensorBytes: 64 } });
    expect(written.dataPath).toBe(`${path}.data`);
    const inline = await exportArtifactToOnnx(artifact, join(dir, 'inline.onnx'));
    const model = decodeModel(readFileSync(path));
    const moved = model.graph.initializer.reduce((n, t) => n + Number(t.external_data?.find((e) => e.key === 'length')?.value ?? 0), 0);
    expect(moved).toBeGreaterThan(1000);
    expect(statSync(path).size).toBeLessThanOrEqual(inline.bytes - moved + 1024);
    expect(statSync(`${path}.data`).size).toBeGreaterThanOrEqual(moved);
    const table = model.graph.initializer.find((t) => t.name === 'emb/user')!;
    expect(table.data_location).toBe(1);
    expect(table.raw_data).toBeUndefined();
    expect(Object.fromEntries(table.external_data!.map((e) => [e.key, e.value])).location).toBe('ext.onnx.data');
    for (const t of model.graph.initializer.filter((t) => t.external_data?.length)) {
      expect(Number(t.external_data!.find((e) => e.key === 'offset')!.value) % 4096).toBe(0);
    }
    checkOnnxFiles(test, [path]);
    expect(await parity(path, artifact)).toBeLessThan(1e-5);
    expect((await readOnnxInfo(path)).encoders).toEqual(encoders);
  });

  it('removes a stale data file when the same path is re-exported inline', async () => {
    const path = join(dir, 'again.onnx');
    await exportArtifactToOnnx(artifact, path, { externalData: { threshold: 0 } });
    expect(existsSync(`${path}.data`)).toBe(true);
    await exportArtifactToOnnx(artifact, path);
    expect(existsSync(`${path}.data`)).toBe(false);
    expect(await parity(path, artifact)).toBeLessThan(1e-5);
  });
});

/** Flips one byte of `path` inside the little-endian bytes of weight `name` (found by content, so it really is weight data). */
function flipWeightByte(path: string, a: ModelArtifact, name: string): void {
  const file = readFileSync(path);
  const w = a.weights.get(name)!;
  const at = file.indexOf(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  expect(at).toBeGreaterThanOrEqual(0);
  file[at + 5] = file[at + 5]! ^ 0x01; // a low mantissa bit of one value: a tiny change, scores still plausible
  writeFileSync(path, file);
}

describe('a failed export', () => {
  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  const hidden = () => readdirSync(dir).filter((e) => e.startsWith('.'));

  it('leaves the earlier file and its data file as they were when verification fails, and no temporary behind', async () => {
    const path = join(dir, 'kept.onnx');
    await exportArtifactToOnnx(artifact, path, { externalData: { threshold: 0 } });
    const before = [sha(path), sha(`${path}.data`)];
    let checked: string | undefined;
    const failing = async (staged: string) => {
      checked = staged;
      expect((await verifyExport(artifact, staged, ['pctr'])).maxAbsError).toBeLessThan(1e-5); // complete, external data beside it
      throw new Error('verification failed: differs by 1');
    };
    for (const externalData of [{ threshold: 0 }, {}]) {
      await expect(exportArtifactToOnnx(artifact, path, { outputs: ['pctr'], externalData, verify: failing })).rejects.toThrow('verification failed: differs by 1');
      expect(checked).not.toBe(path);
      expect([sha(path), sha(`${path}.data`)]).toEqual(before);
      expect(hidden()).toEqual([]);
    }
    // A verified inline export replaces the file and removes the stale data file.
    await exportArtifactToOnnx(artifact, path, { verify: async (staged) => void (await verifyExport(artifact, staged, ['pctr'])) });
    expect(existsSync(`${path}.data`)).toBe(false);
    expect((await readVerifiedOnnx(path)).checksum).toBe('verified');
  });

  it('refuses outputs named twice before writing', async () => {
    const path = join(dir, 'twice.onnx');
    await expect(exportArtifactToOnnx(artifact, path, { outputs: ['pctr', 'pcvr', 'pctr'] })).rejects.toThrow("outputs name 'pctr' twice");
    expect(existsSync(path)).toBe(false);
  });
});

describe('local paths', () => {
  it('are cut to base names in esm2.source and esm2.artifact_metadata', async () => {
    const local = { ...artifact, metadata: { epoch: 2, settings: { train: '/home/ana/data/train.csv', valid: '../data/valid.csv', seed: 1 }, note: '/srv/x/y.txt', kind: 'model' } };
    const path = join(dir, 'paths.onnx');
    await exportArtifactToOnnx(local, path, { source: '/home/ana/runs/demo/best' });
    const info = await readOnnxInfo(path);
    expect(info.source).toBe('best');
    expect(info.artifactMetadata).toEqual({ epoch: 2, settings: { train: 'train.csv', valid: 'valid.csv', seed: 1 }, note: 'y.txt', kind: 'model' });
    const text = Buffer.from(readFileSync(path)).toString('latin1');
    expect(text).not.toContain('/home/ana');
    expect(text).not.toContain('../data');
  });
});

describe('content checksum', () => {
  it('is written with every export and verified on reading; export verification checks it too', async () => {
    const path = join(dir, 'sum.onnx');
    await exportArtifactToOnnx(artifact, path);
    const model = decodeModel(readFileSync(path));
    expect(model.metadata_props!.find((p) => p.key === METADATA_KEYS.contentSha256)?.value).toMatch(/^[0-9a-f]{64}$/);
    const { info, checksum } = await readVerifiedOnnx(path);
    expect(checksum).toBe('verified');
    expect(info.encoders).toEqual(encoders);
    const verified = await verifyExport(artifact, path, ['pctr']);
    expect(verified.checksum).toBe('verified');
  });

  it('refuses a file with one flipped weight bit, naming the file', async () => {
    const path = join(dir, 'flipped.onnx');
    await exportArtifactToOnnx(artifact, path);
    flipWeightByte(path, artifact, 'emb/user');
    await expect(readVerifiedOnnx(path)).rejects.toThrow(/flipped\.onnx is corrupt: its content checksum sha256 [0-9a-f]{64} does not match/);
    await expect(verifyExport(artifact, path, ['pctr'])).rejects.toThrow(/flipped\.onnx is corrupt/);
    // The metadata alone still reads: only the checksum notices.
    expect((await readOnnxInfo(path)).model.name).toBe('esm2');
  });

  it('covers the metadata: a changed schema is refused', async () => {
    const path = join(dir, 'meta-changed.onnx');
    await exportArtifactToOnnx(artifact, path);
    const file = readFileSync(path);
    const at = file.indexOf(Buffer.from('"embeddingDim"'));
    expect(at).toBeGreaterThanOrEqual(0);
    file.write('"embeddingDjm"', at);
    writeFileSync(path, file);
    await expect(readVerifiedOnnx(path)).rejects.toThrow(/meta-changed\.onnx is corrupt/);
  });

  it('covers external data: a flipped byte in <file>.data is refused, naming the model file', async () => {
    const path = join(dir, 'sum-ext.onnx');
    await exportArtifactToOnnx(artifact, path, { externalData: { threshold: 0, minTensorBytes: 64 } });
    expect((await readVerifiedOnnx(path)).checksum).toBe('verified');
    flipWeightByte(`${path}.data`, artifact, 'emb/user');
    await expect(readVerifiedOnnx(path)).rejects.toThrow(/sum-ext\.onnx is corrupt/);
    writeFileSync(`${path}.data`, readFileSync(`${path}.data`).subarray(0, 100));
    await expect(readVerifiedOnnx(path)).rejects.toThrow(/sum-ext\.onnx: its external data .*sum-ext\.onnx\.data is truncated/);
  });

  it('reads a format-1 file (exported before checksums) as unverified, but refuses a format-2 file that lost its checksum', async () => {
    const path = join(dir, 'sum-legacy.onnx');
    await exportArtifactToOnnx(artifact, path);
    const model = decodeModel(readFileSync(path));
    const props = model.metadata_props!.filter((p) => p.key !== METADATA_KEYS.contentSha256);
    writeFileSync(path, encodeModel({ ...model, metadata_props: props }));
    await expect(readVerifiedOnnx(path)).rejects.toThrow(/sum-legacy\.onnx is corrupt: format 'esm2-onnx\/2' always carries 'esm2\.content_sha256'/);
    const legacy = props.map((p) => (p.key === METADATA_KEYS.format ? { ...p, value: LEGACY_EXPORT_FORMAT } : p));
    writeFileSync(path, encodeModel({ ...model, metadata_props: legacy }));
    const read = await readVerifiedOnnx(path);
    expect(read.checksum).toBe('absent');
    expect(read.info.format).toBe(LEGACY_EXPORT_FORMAT);
    expect(await parity(path, artifact)).toBeLessThan(1e-5);
  });

  it('replaces, not duplicates, the checksum when a read-back model is written again', async () => {
    const first = join(dir, 'sum-once.onnx');
    await exportArtifactToOnnx(artifact, first);
    const again = join(dir, 'sum-twice.onnx');
    await writeOnnxModel(again, decodeModel(readFileSync(first)));
    expect(decodeModel(readFileSync(again)).metadata_props!.filter((p) => p.key === METADATA_KEYS.contentSha256)).toHaveLength(1);
    expect((await readVerifiedOnnx(again)).checksum).toBe('verified');
  });
});

describe('graph inputs read back from an export', () => {
  it('are the IR inputs of the graph it was compiled from (labels too, when a loss is exported), with weights inline or external', async () => {
    const withLoss = [artifact.model.predictions[0]!, artifact.model.losses[0]!];
    for (const [name, outputs, externalData] of [
      ['inputs.onnx', undefined, undefined],
      ['inputs-loss.onnx', withLoss, undefined],
      ['inputs-ext.onnx', undefined, { threshold: 0 }],
    ] as const) {
      const path = join(dir, name);
      await exportArtifactToOnnx(artifact, path, { ...(outputs ? { outputs: [...outputs] } : {}), ...(externalData ? { externalData } : {}) });
      const { graph, info } = await readVerifiedOnnx(path);
      const pruned = pruneGraph(artifact.graph, info.outputs);
      expect(graph.name).toBe(pruned.name);
      expect(irInputs(graph.inputs, path)).toEqual(pruned.inputs);
    }
    const roles = irInputs((await readVerifiedOnnx(join(dir, 'inputs-loss.onnx'))).graph.inputs).map((i) => i.role);
    expect(roles).toContain('label');
  });

  it('refuses an input that is not float, int32 or int64 (a --raw-features export\'s strings), naming it', () => {
    const text = { name: 'user', type: { tensor_type: { elem_type: DataType.STRING, shape: { dim: [{ dim_param: 'batch' }] } } } };
    expect(() => irInputs([text], 'm.onnx')).toThrow("m.onnx: input 'user' is not a float, int32 or int64 tensor (ONNX elem_type 8)");
  });
});
