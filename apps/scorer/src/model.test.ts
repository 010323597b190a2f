import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportArtifactToOnnx } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, parseFeatureSchema, readArtifact } from '@esm2/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, schemaMismatch } from './model.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(400);
}, 60_000);
afterAll(() => fixture?.cleanup());

describe('loadScoringModel', () => {
  it('gives identical scores from the run directory, the artifact directory and its .onnx export', async () => {
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 50);
    const results = [];
    for (const path of [fixture.run, fixture.artifact, fixture.onnx]) {
      const model = await loadScoringModel(path);
      expect(model.predictions).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr']);
      expect(model.graph.inputs.every((i) => i.role === 'feature')).toBe(true);
      const local = await LocalScorer.create(model);
      results.push(await local.scoreRows(model, rows));
      await local.close();
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toEqual(results[2]);
  });

  it('refuses a model exported without encoders, saying why', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const path = join(fixture.dir, 'no-encoders.onnx');
    await exportArtifactToOnnx({ ...artifact, encoders: null }, path);
    await expect(loadScoringModel(path)).rejects.toThrow(/carries no encoders/);
  });

  it('refuses encoders whose vocabulary does not fit the embedding tables', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const fields = artifact.schema.fields.map((f) => (f.name === 'hour' && f.kind === 'categorical' ? { ...f, encoding: { kind: 'vocabulary' as const, size: 3 } } : f));
    const schema = parseFeatureSchema({ ...artifact.schema, fields });
    const model = buildModel(schema, { towers: [4] });
    const path = join(fixture.dir, 'mismatch.onnx');
    await exportArtifactToOnnx(artifactFromModel(model, schema, initWeights(model.graph, 1), { encoders: artifact.encoders }), path);
    await expect(loadScoringModel(path)).rejects.toThrow(/field 'hour' has 3 embedding rows but the encoders produce ids for \d+/);
  });

  it('names a path that does not exist or is not a model', async () => {
    await expect(loadScoringModel(join(fixture.dir, 'missing.onnx'))).rejects.toThrow(/no such file/);
    const junk = join(fixture.dir, 'junk.onnx');
    writeFileSync(junk, 'hello');
    await expect(loadScoringModel(junk)).rejects.toThrow(/junk\.onnx/);
  });
});

describe('schemaMismatch', () => {
  const base = parseFeatureSchema({
    fields: [
      { kind: 'categorical', name: 'a', encoding: { kind: 'hash', buckets: 8 } },
      { kind: 'multiCategorical', name: 'b', encoding: { kind: 'vocabulary', size: 5 }, maxLength: 3 },
      { kind: 'numeric', name: 'c' },
    ],
  });
  it('accepts identical schemas and names each kind of difference', () => {
    expect(schemaMismatch(base, base)).toBeUndefined();
    const other = (i: number, f: object) => parseFeatureSchema({ fields: base.fields.map((x, k) => (k === i ? { ...x, ...f } : x)) });
    expect(schemaMismatch(base, other(1, { maxLength: 4 }))).toMatch(/'b' takes 3 ids per row but the encoders pad to 4/);
    expect(schemaMismatch(base, other(0, { encoding: { kind: 'hash', buckets: 9 } }))).toMatch(/'a' has 8 embedding rows/);
    expect(schemaMismatch(base, other(2, { kind: 'categorical', encoding: { kind: 'hash', buckets: 2 } }))).toMatch(/'c' is numeric in the model but categorical/);
    expect(schemaMismatch(base, parseFeatureSchema({ fields: base.fields.slice(0, 2) }))).toMatch(/'c' has no encoder/);
  });
});
