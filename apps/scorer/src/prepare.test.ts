import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { answerBatch, outcomeError, prepareContext, type AnswerOutcome, type RawRequest } from './prepare.js';
import { RequestError } from './request.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let local: LocalScorer;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  fixture = await makeFixture(300);
  model = await loadScoringModel(fixture.onnx);
  local = await LocalScorer.create(model);
  rows = requestRows(csvRows(fixture.csv));
});

afterAll(async () => {
  await local?.close();
  await fixture?.cleanup();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const v1 = (some: Record<string, unknown>[] | string): RawRequest => ({ route: 'v1', body: bytes(typeof some === 'string' ? some : JSON.stringify({ rows: some })), maxRows: 50 });
const v2 = (some: Record<string, unknown>[]): RawRequest => {
  const inputs = model.encoders.config.fields.map((f) => ({
    name: f.column,
    shape: [some.length],
    datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
    data: some.map((r) => (f.kind === 'numeric' ? r[f.column] : String(r[f.column]))),
  }));
  return { route: 'v2', body: bytes(JSON.stringify({ id: 'q', inputs })), maxRows: 50 };
};

describe('answerBatch', () => {
  it('refuses bad requests one by one, scores the rest in runs of at most maxBatchRows rows, each answered with its own rows', async () => {
    const runs: number[] = [];
    const requests = [v1(rows.slice(0, 3)), v1('{"rows": ['), v2(rows.slice(3, 5)), v1([{ ...rows[0], colour: 'red' }]), v1(rows.slice(5, 9)), v1(rows.slice(0, 51)), v1([{ ...rows[0], price: 'cheap' }])];
    const answered = await answerBatch(prepareContext(model), requests, 5, (feeds) => {
      runs.push(Object.values(feeds)[0]!.shape[0]!);
      return local.score(feeds, model.predictions);
    });
    expect(answered.runs).toEqual([5, 4]);
    expect(runs).toEqual([5, 4]);
    const [a, json, b, field, c, many, cheap] = answered.outcomes;
    const body = <T>(o: AnswerOutcome | undefined) => (o?.ok ? (JSON.parse(o.body as string) as T) : undefined);
    const refusal = (o: AnswerOutcome | undefined) => (o?.ok === false ? o.message : undefined);
    expect(a).toMatchObject({ ok: true, rows: 3 });
    expect(body(a)).toEqual({ modelVersion: model.info.modelVersion, model_version: model.info.modelVersion, predictions: await local.scoreRows(model, rows.slice(0, 3)) });
    expect(json).toMatchObject({ ok: false, status: 400 });
    expect(refusal(json)).toMatch(/^invalid JSON body: /);
    const v2Body = body<{ id: string; outputs: { name: string; data: number[] }[] }>(b)!;
    expect(v2Body.id).toBe('q');
    expect(v2Body.outputs.find((o) => o.name === 'pctr')!.data).toEqual((await local.scoreRows(model, rows.slice(3, 5))).map((p) => p.pctr));
    // Refused while parsing: no row count; refused while encoding: the rows it had.
    expect(field).toEqual({ ok: false, status: 400, message: expect.stringMatching(/row 0: unknown field 'colour'/) as string });
    expect(cheap).toEqual({ ok: false, status: 400, rows: 1, message: expect.stringMatching(/row 0, field 'price': expected a number, got string/) as string });
    expect(body<{ predictions: unknown }>(c)!.predictions).toEqual(await local.scoreRows(model, rows.slice(5, 9)));
    expect(many).toMatchObject({ ok: false, status: 413 });
  });

  it('rejects the whole batch when a session run fails', async () => {
    await expect(answerBatch(prepareContext(model), [v1(rows.slice(0, 2))], 100, () => Promise.reject(new Error('onnxruntime: boom')))).rejects.toThrow('onnxruntime: boom');
  });
});

describe('outcomeError', () => {
  it('gives back a RequestError with its status for a refusal with one, and a plain Error (a 500) otherwise', () => {
    const refused = outcomeError({ ok: false, message: 'too many rows', status: 413 });
    expect(refused).toBeInstanceOf(RequestError);
    expect((refused as RequestError).statusCode).toBe(413);
    const bug = outcomeError({ ok: false, message: "Cannot read properties of undefined (reading 'length')" });
    expect(bug).not.toBeInstanceOf(RequestError);
    expect(bug.message).toBe("Cannot read properties of undefined (reading 'length')");
  });
});
