import { readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, decodeModel, encodeModel, exportArtifactToOnnx, exportArtifactToTriton, LEGACY_EXPORT_FORMAT, METADATA_KEYS } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, parseFeatureSchema, pruneGraph, type Graph, type Weights } from '@esm2/core';
import { modelJsonChecksum, modelJsonText, readArtifact, writeArtifact } from '@esm2/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodersForSchema, rawFeatureEncodings } from '@esm2/data';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel } from './model.js';
import { startService } from './serve.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { expectClose, interpretedScores } from './test-support/reference.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(400);
});
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

  it('loads an int64-id export (every export before int32 ids, and --id-type int64) and scores it exactly as the int32 one and the artifact', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const [int32, int64] = [join(fixture.dir, 'ids-int32.onnx'), join(fixture.dir, 'ids-int64.onnx')];
    await exportArtifactToOnnx(artifact, int32);
    await exportArtifactToOnnx(artifact, int64, { idType: 'int64' });
    const types = (path: string) => new Set(decodeModel(readFileSync(path)).graph.input.map((v) => v.type.tensor_type.elem_type));
    expect(types(int32)).toEqual(new Set([DataType.INT32, DataType.FLOAT]));
    expect(types(int64)).toEqual(new Set([DataType.INT64, DataType.FLOAT]));
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 50);
    const results = [];
    const graphs = [];
    for (const path of [int32, int64, fixture.artifact]) {
      const model = await loadScoringModel(path);
      graphs.push(model.graph.inputs);
      const local = await LocalScorer.create(model);
      results.push(await local.scoreRows(model, rows));
      await local.close();
    }
    expect(graphs[1]).toEqual(graphs[0]);
    expect(graphs[2]).toEqual(graphs[0]);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('refuses an .onnx whose weights changed after export (one flipped bit), naming the file; the untouched export loads', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const path = join(fixture.dir, 'flipped.onnx');
    await exportArtifactToOnnx(artifact, path);
    const warnings: string[] = [];
    await expect(loadScoringModel(path, { onWarning: (m) => warnings.push(m) })).resolves.toMatchObject({ predictions: ['pctr', 'pctavr', 'pcvr', 'pctcvr'] });
    expect(warnings).toEqual([]);
    const file = readFileSync(path);
    const [name, w] = [...artifact.weights].sort((a, b) => b[1].length - a[1].length)[0]!;
    const at = file.indexOf(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
    expect(at, `weight '${name}' found in the file`).toBeGreaterThanOrEqual(0);
    file[at + 9] = file[at + 9]! ^ 0x01;
    writeFileSync(path, file);
    await expect(loadScoringModel(path)).rejects.toThrow(/flipped\.onnx is corrupt: its content checksum sha256 [0-9a-f]{64} does not match/);
  });

  it('loads an .onnx exported before checksums (format 1), with a warning naming it', async () => {
    const model = decodeModel(readFileSync(fixture.onnx));
    const props = model.metadata_props!
      .filter((p) => p.key !== METADATA_KEYS.contentSha256)
      .map((p) => (p.key === METADATA_KEYS.format ? { ...p, value: LEGACY_EXPORT_FORMAT } : p));
    const path = join(fixture.dir, 'legacy.onnx');
    writeFileSync(path, encodeModel({ ...model, metadata_props: props }));
    const warnings: string[] = [];
    const loaded = await loadScoringModel(path, { onWarning: (m) => warnings.push(m) });
    expect(loaded.info.format).toBe(LEGACY_EXPORT_FORMAT);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/legacy\.onnx carries no content checksum .*export it again/);
  });

  it('refuses a model exported with tower outputs only, saying why; with a prediction beside the tower it scores like the full export', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const towers = join(fixture.dir, 'towers-only.onnx');
    await exportArtifactToOnnx(artifact, towers, { outputs: ['y1'] });
    await expect(loadScoringModel(towers)).rejects.toThrow(
      `${towers}: the model has no prediction output (its outputs: y1); esm2-score answers with pctr, pctavr, pcvr, pctcvr: export the run again with --outputs including at least one`,
    );
    const mixed = join(fixture.dir, 'pctcvr-y1.onnx');
    await exportArtifactToOnnx(artifact, mixed, { outputs: ['pctcvr', 'y1'] });
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 20);
    const score = async (path: string) => {
      const model = await loadScoringModel(path);
      const local = await LocalScorer.create(model);
      try {
        return await local.scoreRows(model, rows);
      } finally {
        await local.close();
      }
    };
    const got = (await score(mixed)) as { pctcvr: number }[];
    const full = (await score(fixture.onnx)) as { pctcvr: number }[];
    expect(got.map((r) => Object.keys(r))).toEqual(rows.map(() => ['pctcvr']));
    expect(got.map((r) => r.pctcvr)).toEqual(full.map((r) => r.pctcvr));
  });

  it('refuses an artifact whose model.json changed after it was written (one digit of a vocabulary entry), naming the file', async () => {
    const dir = join(fixture.dir, 'one-digit');
    await cp(fixture.artifact, dir, { recursive: true });
    const path = join(dir, 'model.json');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { encoders: { vocabularies: Record<string, string[]> } };
    const values = Object.values(doc.encoders.vocabularies).find((v) => v.some((x) => /\d/.test(x)))!;
    const entry = values.find((x) => /\d/.test(x))!;
    const changed = entry.replace(/\d/, (d) => String((Number(d) + 1) % 10));
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(JSON.stringify(entry), JSON.stringify(changed)));
    expect(readFileSync(path, 'utf8')).not.toBe(text);
    await expect(loadScoringModel(dir)).rejects.toThrow(`${path} is corrupt: checksum sha256`);
  });

  it('refuses an artifact whose encoders are malformed, naming model.json and the bad key', async () => {
    const dir = join(fixture.dir, 'bad-encoders');
    await cp(fixture.artifact, dir, { recursive: true });
    const doc = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { encoders: { numeric: { price: { std: unknown } } } };
    doc.encoders.numeric.price.std = 'wide';
    writeFileSync(join(dir, 'model.json'), modelJsonText(doc)); // checksum stamped again: the encoders check is the one under test
    await expect(loadScoringModel(dir)).rejects.toThrow(/bad-encoders\/model\.json: invalid encoders JSON: numeric\.price\.std: /);
  });

  it('refuses a model exported without encoders, saying why', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const path = join(fixture.dir, 'no-encoders.onnx');
    await exportArtifactToOnnx({ ...artifact, encoders: null }, path);
    await expect(loadScoringModel(path)).rejects.toThrow(/carries no encoders/);
  });

  it('refuses a --raw-features export, saying which export it serves', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const encoders = encodersForSchema(artifact.encoders, artifact.schema, fixture.artifact);
    const path = join(fixture.dir, 'raw.onnx');
    await exportArtifactToOnnx(artifact, path, { rawFeatures: rawFeatureEncodings(encoders) });
    await expect(loadScoringModel(path)).rejects.toThrow(/raw\.onnx: exported with --raw-features .* export the run again without --raw-features/);
  });

  it('refuses encoders whose vocabulary does not fit the embedding tables', async () => {
    const artifact = await readArtifact(fixture.artifact);
    const fields = artifact.schema.fields.map((f) => (f.name === 'hour' && f.kind === 'categorical' ? { ...f, encoding: { kind: 'vocabulary' as const, size: 3 } } : f));
    const schema = parseFeatureSchema({ ...artifact.schema, fields });
    const model = buildModel(schema, { towers: [4] });
    const path = join(fixture.dir, 'mismatch.onnx');
    await exportArtifactToOnnx(artifactFromModel(model, schema, initWeights(model.graph, 1), { encoders: artifact.encoders }), path);
    await expect(loadScoringModel(path)).rejects.toThrow(/mismatch\.onnx: the encoders do not match the model's feature schema: field 'hour': the encoders give a vocabulary of \d+ value\(s\), \d+ rows with OOV \(encoders\.vocabularies\.hour\) but its embedding table has 3 rows/);
  });

  it('serves a Triton model folder (esm2-train export --triton) from its highest version, scoring like the .onnx', async () => {
    const repo = join(fixture.dir, 'triton');
    const written = await exportArtifactToTriton(await readArtifact(fixture.artifact), repo);
    // A newer version is what Triton would load, so it is the one served.
    await mkdir(join(written.dir, '2'));
    await cp(written.model.path, join(written.dir, '2', 'model.onnx'));
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 50);
    const scores = [];
    for (const path of [written.dir, fixture.onnx]) {
      const model = await loadScoringModel(path);
      const local = await LocalScorer.create(model);
      scores.push({ origin: model.origin, source: model.source, results: await local.scoreRows(model, rows) });
      await local.close();
    }
    expect(scores[0]!.origin).toBe(join(written.dir, '2', 'model.onnx'));
    expect(scores[0]!.source).toEqual({ kind: 'file', path: join(written.dir, '2', 'model.onnx') });
    expect(scores[0]!.results).toEqual(scores[1]!.results);

    // The highest version without its model.onnx is an error naming the missing file, not a silent fallback to version 1.
    await rm(join(written.dir, '2', 'model.onnx'));
    await expect(loadScoringModel(written.dir)).rejects.toThrow(
      `--model ${join(written.dir, '2', 'model.onnx')}: no such file; the Triton model folder ${written.dir} serves its highest version, 2, which holds no model.onnx`,
    );
    await rm(join(written.dir, '2'), { recursive: true });
    await rm(join(written.dir, '1'), { recursive: true });
    await expect(loadScoringModel(written.dir)).rejects.toThrow(`--model ${written.dir}: a Triton model folder with no version directory (expected ${join(written.dir, '1', 'model.onnx')})`);
  });

  /** The core interpreter's predictions for rows, run on `graph` with `weights`: the reference a scorer must match. */
  const interpreted = (graph: Graph, weights: Weights, rows: Record<string, unknown>[]) => interpretedScores(graph, weights, fixture.encoders, rows);

  /** What the artifact directory, its .onnx export and a served /v1/score (the worker's path) answer for rows. */
  async function scoresEverywhere(dir: string, rows: Record<string, unknown>[]): Promise<Record<string, number>[][]> {
    const onnx = `${dir}.onnx`;
    await exportArtifactToOnnx(await readArtifact(dir), onnx);
    const results = [];
    for (const path of [dir, onnx]) {
      const model = await loadScoringModel(path);
      const local = await LocalScorer.create(model);
      results.push(await local.scoreRows(model, rows));
      await local.close();
    }
    const running = await startService({ model: dir, port: 0, workers: 1 });
    try {
      const res = await fetch(`${running.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });
      expect(res.status).toBe(200);
      results.push(((await res.json()) as { predictions: Record<string, number>[] }).predictions);
    } finally {
      await running.close();
    }
    return results;
  }

  it("scores with the artifact's stored graph, not one rebuilt from its config: a graph edited in model.json (checksum stamped again)", async () => {
    const dir = join(fixture.dir, 'edited-graph');
    await cp(fixture.artifact, dir, { recursive: true });
    const path = join(dir, 'model.json');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { sha256: string; graph: { nodes: { op: string; attrs: { mode?: string } }[] } };
    // The tag list's mean pooling becomes a sum: what the config would rebuild no longer is what is stored.
    const pooled = doc.graph.nodes.filter((n) => n.op === 'pooledGather');
    expect(pooled.map((n) => n.attrs.mode)).toEqual(['mean']);
    pooled[0]!.attrs.mode = 'sum';
    doc.sha256 = modelJsonChecksum(doc);
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    const stored = await readArtifact(dir);
    const rebuilt = buildModel(stored.schema, stored.model.config).graph;
    expect(JSON.stringify(stored.graph)).not.toBe(JSON.stringify(rebuilt));

    const rows = requestRows(csvRows(fixture.csv)).slice(0, 40);
    const want = interpreted(stored.graph, stored.weights, rows);
    const other = interpreted(rebuilt, stored.weights, rows);
    // The edit matters for these rows (tag lists of more than one tag), so scoring the rebuilt graph would show.
    expect(Math.max(...want.map((r, i) => Math.abs(r.pctr! - other[i]!.pctr!)))).toBeGreaterThan(1e-4);
    for (const got of await scoresEverywhere(dir, rows)) expectClose(got, want);
  });

  it("feeds the stored graph's inputs: a model built without a field the schema and its config would rebuild with", async () => {
    const schema = fixture.encoders.schema;
    // Built by other code than this config would rebuild with: without the 'price' input, which the schema still has.
    const built = buildModel({ ...schema, fields: schema.fields.filter((f) => f.name !== 'price') }, { towers: [32, 16] });
    const weights = initWeights(built.graph, 11);
    const dir = join(fixture.dir, 'no-price');
    await writeArtifact(dir, artifactFromModel(built, schema, weights, { encoders: fixture.encoders.toJSON() }));
    const rebuilt = buildModel(schema, built.config).graph;
    expect(rebuilt.inputs.map((i) => i.name)).toContain('price');

    const rows = requestRows(csvRows(fixture.csv)).slice(0, 40);
    const want = interpreted(built.graph, weights, rows);
    for (const got of await scoresEverywhere(dir, rows)) expectClose(got, want);
    // The artifact's graph, and the export's own inputs read back from the file, are what feeds are built for.
    const stored = pruneGraph(built.graph, ['pctr', 'pctavr', 'pcvr', 'pctcvr']).inputs;
    for (const path of [dir, `${dir}.onnx`]) expect((await loadScoringModel(path)).graph.inputs).toEqual(stored);
  });

  it('names a path that does not exist or is not a model', async () => {
    await expect(loadScoringModel(join(fixture.dir, 'missing.onnx'))).rejects.toThrow(/no such file/);
    const junk = join(fixture.dir, 'junk.onnx');
    writeFileSync(junk, 'hello');
    await expect(loadScoringModel(junk)).rejects.toThrow(/junk\.onnx/);
  });
});
