import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { DataType, decodeGraphInputs, exportArtifactToOnnx, type OnnxExportOptions } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, type ModelArtifact, type ModelConfigInput, type ZooModel } from '@esm2/core';
import { fitEncoders, writeSynthetic, writeTable, type Encoders, type OutputColumn } from '@esm2/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreFile } from './batch-score.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { startService, type RunningService } from './serve.js';
import { readTable } from './test-support/read-table.js';
import { expectClose, interpretedScores } from './test-support/reference.js';
import { csvRows, requestRows } from './test-support/rows.js';

/**
 * Issue 24's guard: whatever the scorer's hot path becomes, a score does not
 * change. For every zoo model (and the interaction variants), the same rows
 * — in-vocabulary, unseen ids, empty tag lists, a missing categorical —
 * are scored through /v1/score, /v2 JSON, /v2 with the binary tensor data
 * extension (request and response binary) and batch file scoring (CSV and
 * Parquet), and every prediction is held against the core interpreter on
 * the rows encoded by the model's encoders: within 1e-6, and within 1e-6 of
 * each other as float32.
 */

const TOLERANCE = 1e-6;

/**
 * Every model of the zoo, and each feature interaction on ESM2 and on a
 * baseline. `int64`: also served from an export with int64 id inputs, the
 * graph every version before int32 ids exported.
 */
const VARIANTS: { label: string; config: ModelConfigInput; int64?: boolean }[] = [
  { label: 'esm2', config: { model: 'esm2' }, int64: true },
  { label: 'esmm', config: { model: 'esmm' } },
  { label: 'dnn', config: { model: 'dnn' } },
  { label: 'dnn-os', config: { model: 'dnn-os' } },
  { label: 'esm2 --interaction dot', config: { model: 'esm2', interaction: 'dot' } },
  { label: 'esm2 --interaction cross', config: { model: 'esm2', interaction: 'cross' } },
  { label: 'dnn --interaction cross', config: { model: 'dnn', interaction: 'cross', crossLayers: 1 } },
];

type Row = Record<string, unknown>;
type Scores = Record<string, number>[];

let dir: string;
let encoders: Encoders;
/** The rows every path scores, as /v1 takes them: rows of the data, then `changed`. */
let rows: Row[];
/** The rows made from a data row (index `from` in `rows`) with unseen ids, empty tag lists, a missing value or edge numerics. */
let changed: { from: number; row: Row }[];
/** The same rows as a CSV and a Parquet file, for batch scoring. */
let files: { csv: string; parquet: string };
/** The input fields as the Open Inference Protocol names them. */
let fields: { name: string; datatype: 'BYTES' | 'FP32' }[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-agree-'));
  const csv = join(dir, 'impressions.csv');
  const data = await writeSynthetic(csv, { rows: 400, seed: 24 });
  encoders = await fitEncoders(csv, { ...data.config, keys: ['user_id', 'item_id'] });
  const numeric = encoders.config.fields.filter((f) => f.kind === 'numeric').map((f) => f.column);
  expect(numeric).toEqual(['price', 'item_rating']);
  const list = encoders.config.fields.find((f) => f.kind === 'multiCategorical')!.column;
  expect(list).toBe('user_tags');
  // Numerics as float32 values (the binary extension sends FP32), given as JSON numbers.
  const seen: Row[] = requestRows(csvRows(csv))
    .slice(0, 60)
    .map((r) => ({ ...r, price: Math.fround(r.price as number), item_rating: Math.fround(r.item_rating as number) }));
  expect(seen.some((r) => String(r.user_tags).includes('|'))).toBe(true);
  const from = (i: number, changes: Row) => ({ from: i, row: { ...seen[i]!, ...changes } });
  changed = [
    // Unseen ids (OOV), as numbers and as text, and unseen tags.
    from(0, { user_id: 987654321, item_id: 'never-seen-item', user_tags: 'tNEW|tOTHER' }),
    from(1, { item_id: 'never-seen-item', category_id: 999999, brand_id: 'no-such-brand' }),
    from(2, { user_tags: `${String(seen[2]!.user_tags).split('|')[0]}|tNEW` }),
    // Empty tag lists.
    from(3, { user_tags: '' }),
    from(4, { user_tags: '', user_id: 123456789 }),
    // A missing categorical (null in JSON, an empty BYTES element, an empty cell): OOV.
    from(5, { shop_id: null }),
    // Numerics at the edges: zero, whole, negative, far out of the training range.
    from(6, { price: 0, item_rating: 5 }),
    from(7, { price: Math.fround(12345.5), item_rating: -1 }),
  ];
  rows = [...seen, ...changed.map((c) => c.row)];
  fields = encoders.config.fields.map((f) => ({ name: f.column, datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES' }));
  const columns: OutputColumn[] = Object.keys(rows[0]!).map((name) => ({ name, type: numeric.includes(name) ? 'DOUBLE' : 'VARCHAR' }));
  files = { csv: join(dir, 'rows.csv'), parquet: join(dir, 'rows.parquet') };
  for (const path of Object.values(files)) {
    await writeTable(path, columns, (w) => w.writeColumns(columns.map((c) => rows.map((r) => r[c.name])), rows.length));
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A BYTES value as the protocol carries it: text, an empty element for a missing one. */
function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new Error(`not a BYTES value: ${JSON.stringify(v)}`);
}

/** /v2 JSON: one 1-D tensor per field. */
function jsonInputs(some: Row[]) {
  return fields.map(({ name, datatype }) => ({ name, shape: [some.length], datatype, data: some.map((r) => (datatype === 'FP32' ? r[name] : text(r[name]))) }));
}

/**
 * A /v2 binary body written from the protocol's text (extension_binary_data.md),
 * not with the scorer's encoder: the JSON header, then each input's bytes in
 * header order — a BYTES element is a 4-byte little-endian length and its
 * bytes, FP32 is raw little-endian float32.
 */
function binaryBody(some: Row[]): { body: Buffer; headerLength: number } {
  const parts = fields.map(({ name, datatype }) => {
    if (datatype === 'FP32') {
      const out = Buffer.alloc(4 * some.length);
      some.forEach((r, i) => out.writeFloatLE(r[name] as number, 4 * i));
      return out;
    }
    return Buffer.concat(
      some.flatMap((r) => {
        const bytes = Buffer.from(text(r[name]), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );
  });
  const inputs = fields.map(({ name, datatype }, i) => ({ name, shape: [some.length], datatype, parameters: { binary_data_size: parts[i]!.length } }));
  const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }), 'utf8');
  return { body: Buffer.concat([header, ...parts]), headerLength: header.length };
}

/** A binary response read from the protocol's text: JSON header, then each output's raw little-endian FP32 in header order. */
function readBinaryResponse(body: Buffer, headerLength: number, n: number): Record<string, Float32Array> {
  const header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { outputs: { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }[] };
  const out: Record<string, Float32Array> = {};
  let at = headerLength;
  for (const o of header.outputs) {
    expect(o.datatype).toBe('FP32');
    expect(o.shape).toEqual([n]);
    const size = o.parameters.binary_data_size;
    expect(size).toBe(4 * n);
    out[o.name] = Float32Array.from({ length: n }, (_, i) => body.readFloatLE(at + 4 * i));
    at += size;
  }
  expect(at).toBe(body.length);
  return out;
}

/** Column-major scores (name → per-row values) as rows, in `predictions` order. */
function byRow(columns: Record<string, ArrayLike<number>>, predictions: readonly string[], n: number): Scores {
  return Array.from({ length: n }, (_, i) => Object.fromEntries(predictions.map((p) => [p, columns[p]![i]!])));
}

/** JSON numbers as the float32 values the scorer wrote them from. */
const asFloat32 = (scores: Scores): Scores => scores.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.fround(v)])));

interface Built {
  zoo: ZooModel;
  artifact: ModelArtifact;
  /** The core interpreter's scores for `rows`. */
  want: Scores;
}

interface Served extends Built {
  onnx: string;
  model: ScoringModel;
  running: RunningService;
}

/** `config`'s model on the shared encoders, with seeded weights, as an artifact. */
function build(config: ModelConfigInput): Built {
  // Wider embeddings than the default init: ids then move scores far beyond the tolerance, so a mixed-up id shows.
  const zoo = buildModel(encoders.schema, { ...config, towers: [16, 8], embeddingInitStd: 0.5 });
  const weights = initWeights(zoo.graph, 2024);
  const artifact = artifactFromModel(zoo, encoders.schema, weights, { encoders: encoders.toJSON() });
  return { zoo, artifact, want: interpretedScores(zoo.graph, weights, encoders, rows, zoo.predictions) };
}

/** Exports the artifact (`options` on top of the default export), loads the file as `esm2-score` does and serves it with one worker (0: on the HTTP thread). */
async function serve(name: string, built: Built, options: Partial<OnnxExportOptions> = {}, workers = 1): Promise<Served> {
  const onnx = join(dir, `${name.replaceAll(/[^a-z0-9]+/g, '-')}.onnx`);
  await exportArtifactToOnnx(built.artifact, onnx, options);
  const model = await loadScoringModel(onnx);
  expect(model.predictions).toEqual(built.zoo.predictions);
  const running = await startService({ model, port: 0, workers });
  expect(running.workers).toBe(workers);
  return { ...built, onnx, model, running };
}

/** The ONNX element type of each input of an exported file. */
async function inputTypes(onnx: string): Promise<Record<string, number | undefined>> {
  return Object.fromEntries(decodeGraphInputs(await readFile(onnx)).inputs.map((i) => [i.name, i.type?.tensor_type?.elem_type]));
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Each path's answer for `rows` from a served model: per-row scores as the path gives them (JSON numbers, or float32). */
const PATHS: Record<string, (served: Served) => Promise<Scores>> = {
  '/v1/score JSON': async ({ running, zoo }) => {
    const res = await post(`${running.url}/v1/score`, JSON.stringify({ rows }), { 'content-type': 'application/json' });
    expect(res.status, res.body.toString()).toBe(200);
    const predictions = (JSON.parse(res.body.toString('utf8')) as { predictions: Scores }).predictions;
    expect(predictions.map((p) => Object.keys(p))).toEqual(rows.map(() => zoo.predictions));
    return predictions;
  },
  '/v2 infer JSON': async ({ running, model, zoo }) => {
    const res = await post(`${running.url}/v2/models/${model.name}/infer`, JSON.stringify({ inputs: jsonInputs(rows) }), { 'content-type': 'application/json' });
    expect(res.status, res.body.toString()).toBe(200);
    const outputs = (JSON.parse(res.body.toString('utf8')) as { outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] }).outputs;
    expect(outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual(zoo.predictions.map((p) => [p, 'FP32', [rows.length]]));
    return byRow(Object.fromEntries(outputs.map((o) => [o.name, o.data])), zoo.predictions, rows.length);
  },
  '/v2 infer, binary tensor data request and response': async ({ running, model, zoo }) => {
    const { body, headerLength } = binaryBody(rows);
    const res = await post(`${running.url}/v2/models/${model.name}/infer`, body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const outputs = readBinaryResponse(res.body, Number(res.headers.get('inference-header-content-length')), rows.length);
    expect(Object.keys(outputs)).toEqual(zoo.predictions);
    return byRow(outputs, zoo.predictions, rows.length);
  },
  'batch file scoring (esm2-score score), CSV': ({ running, model, zoo }) => scoreTable(files.csv, running, model, zoo),
  'batch file scoring (esm2-score score), Parquet': ({ running, model, zoo }) => scoreTable(files.parquet, running, model, zoo),
};

/** The paths that score a file with a worker pool (not through the service). */
const BATCH_PATHS = [PATHS['batch file scoring (esm2-score score), CSV']!, PATHS['batch file scoring (esm2-score score), Parquet']!];

/** `esm2-score score`'s function on a file of `rows`, with the service's own worker pool (as the command scores with its pool); small batches cross boundaries. */
async function scoreTable(data: string, running: RunningService, model: ScoringModel, zoo: ZooModel): Promise<Scores> {
  const out = join(dir, `scores${extname(data)}`);
  const report = await scoreFile({ model, scorer: running.pool!, data, out, batchSize: 25 });
  expect(report).toMatchObject({ rows: rows.length, skipped: 0, columns: ['user_id', 'item_id', ...zoo.predictions] });
  const table = await readTable(out);
  await rm(out);
  expect(table.values.user_id).toEqual(rows.map((r) => String(r.user_id)));
  expect(table.values.item_id).toEqual(rows.map((r) => String(r.item_id)));
  return rows.map((_, i) => Object.fromEntries(zoo.predictions.map((p) => [p, Number(table.values[p]![i])])));
}

for (const { label, config, int64 } of VARIANTS) {
  describe(`${label}: every path scores as the core interpreter`, () => {
    let served: Served;
    /** The same artifact exported with int64 id inputs (`int64` variants). */
    let old: Served | undefined;
    /** The same export served by one session on the HTTP thread (`serve --workers 0`). */
    let onThread: Served;
    /** Each path's float32 scores, for the cross-check at the end. */
    const got = new Map<string, Scores>();

    beforeAll(async () => {
      const built = build(config);
      served = await serve(label, built);
      onThread = await serve(`${label} on the HTTP thread`, built, {}, 0);
      if (int64) old = await serve(`${label} int64`, built, { idType: 'int64' });
    });
    afterAll(async () => {
      await served?.running.close();
      await onThread?.running.close();
      await old?.running.close();
    });

    it('has scores worth comparing: they vary across rows, and unseen ids and empty tag lists change them', () => {
      const { want, zoo } = served;
      for (const p of zoo.predictions) {
        const values = want.map((r) => r[p]!);
        expect(values.every((v) => v > 0 && v < 1), p).toBe(true);
        expect(Math.max(...values) - Math.min(...values), p).toBeGreaterThan(0.01);
      }
      // Each changed row scores far (beyond the tolerance) from the row it was made from.
      const first = rows.length - changed.length;
      changed.forEach(({ from }, k) => expect(Math.abs(want[first + k]!.pctr! - want[from]!.pctr!), `changed row ${k}`).toBeGreaterThan(100 * TOLERANCE));
    });

    for (const [path, score] of Object.entries(PATHS)) {
      it(path, async () => {
        const scores = await score(served);
        expectClose(scores, served.want, path, TOLERANCE);
        got.set(path, asFloat32(scores));
      });
    }

    for (const [path, score] of Object.entries(PATHS).filter(([, s]) => !BATCH_PATHS.includes(s))) {
      it(`${path}, served on the HTTP thread (--workers 0): the same bytes as from a worker`, async () => {
        expect(onThread.running.pool).toBeUndefined();
        const [worker, http] = [await score(served), await score(onThread)];
        expect(http).toEqual(worker);
        expectClose(http, served.want, path, TOLERANCE);
      });
    }

    it('the paths agree with each other as float32 values', () => {
      expect([...got.keys()]).toEqual(Object.keys(PATHS));
      const [first, ...others] = [...got.entries()];
      for (const [path, scores] of others) expectClose(scores, first![1], `${path} vs ${first![0]}`, TOLERANCE);
    });

    if (int64) {
      it('takes int32 ids from the default export, int64 ids from an idType int64 export (what earlier versions exported)', async () => {
        const ids = served.model.graph.inputs.filter((i) => i.type.dtype === 'i32').map((i) => i.name);
        const numerics = served.model.graph.inputs.filter((i) => i.type.dtype === 'f32').map((i) => i.name);
        expect(ids.length).toBeGreaterThan(5);
        expect(numerics.length).toBeGreaterThan(0);
        const expected = (id: number) => Object.fromEntries(served.model.graph.inputs.map((i) => [i.name, ids.includes(i.name) ? id : DataType.FLOAT]));
        expect(await inputTypes(served.onnx)).toEqual(expected(DataType.INT32));
        expect(await inputTypes(old!.onnx)).toEqual(expected(DataType.INT64));
        // Both load as the same model to the scorer: the same inputs, encoders and predictions.
        expect(old!.model.graph.inputs).toEqual(served.model.graph.inputs);
        expect(old!.model.encoders.toJSON()).toEqual(served.model.encoders.toJSON());
      });

      for (const [path, score] of Object.entries(PATHS)) {
        it(`${path}: the int64-id export scores bit for bit as the int32 one`, async () => {
          const [int32Scores, int64Scores] = [await score(served), await score(old!)];
          expect(int64Scores).toEqual(int32Scores);
          expectClose(int64Scores, served.want, path, TOLERANCE);
        });
      }
    }
  });
}
