import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { concatFeeds, scoresToRows, type Feeds } from './feeds.js';
import { encodeBytesTensor, encodeFp32Tensor } from './open-inference.js';
import { answerBatch, outcomeError, prepareContext, prepareRequest, type AnswerOutcome, type PrepareContext, type RawRequest } from './prepare.js';
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

const v2Binary = (some: Record<string, unknown>[], patch: (column: string, values: unknown[]) => unknown[] = (_c, v) => v): RawRequest => {
  const fields = model.encoders.config.fields;
  const tensors = fields.map((f) => {
    const values = patch(f.column, some.map((r) => (f.kind === 'numeric' ? r[f.column] : String(r[f.column]))));
    return f.kind === 'numeric' ? encodeFp32Tensor(values as number[]) : encodeBytesTensor(values as string[]);
  });
  const inputs = fields.map((f, i) => ({ name: f.column, shape: [some.length], datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES', parameters: { binary_data_size: tensors[i]!.length } }));
  const header = Buffer.from(JSON.stringify({ id: 'b', inputs, parameters: { binary_data_output: true } }));
  return { route: 'v2', body: new Uint8Array(Buffer.concat([header, ...tensors])), binaryHeader: String(header.length), maxRows: 50 };
};

/** What prepareRequest (the reference path: rows checked key by key, then encodeRows) makes of a request: its feeds, or its refusal as answerBatch words one. */
function reference(context: PrepareContext, request: RawRequest) {
  let rows: number | undefined;
  try {
    return { ok: true as const, ...prepareRequest(context, request, (n) => (rows = n)) };
  } catch (e) {
    const message = (e as Error).message;
    const refusal = e instanceof RequestError ? { ok: false as const, message, status: e.statusCode } : { ok: false as const, message };
    return rows === undefined ? refusal : { ...refusal, rows };
  }
}

/** A /v2 JSON request's tensors with the values of `names` as numbers. */
function numbersFor(request: RawRequest, names: string[]) {
  const { inputs } = JSON.parse(new TextDecoder().decode(request.body)) as { inputs: { name: string; data: unknown[] }[] };
  return inputs.map((t) => (names.includes(t.name) ? { ...t, data: t.data.map((_, i) => i + 1) } : t));
}

/** The request with its bytes "QQ" made into a broken UTF-8 sequence (C3 28). */
function badUtf8(request: RawRequest): RawRequest {
  const body = Buffer.from(request.body!);
  const at = body.indexOf('QQ');
  body[at] = 0xc3;
  body[at + 1] = 0x28;
  return { ...request, body: new Uint8Array(body) };
}

const copy = (feeds: Feeds): Feeds => Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]));

describe('answerBatch against the reference path', () => {
  it('writes exactly the feeds encodeRows gives, and refuses with exactly its refusals, for varied rows and bodies', async () => {
    const context = prepareContext(model);
    expect(context.writer).toBeDefined();
    const r = (k: number, patch: Record<string, unknown> = {}) => ({ ...rows[k], ...patch });
    const long = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `t${i}` : i));
    const without = (k: number, key: string) => Object.fromEntries(Object.entries(rows[k]!).filter(([c]) => c !== key));
    const requests: RawRequest[] = [
      v1(rows.slice(0, 4)),
      // Ids as strings and as numbers, unseen ones (OOV), a missing category, tag lists of every form, a label set.
      v1([
        r(4, { user_id: String(rows[4]!.user_id), item_id: String(rows[4]!.item_id) }),
        r(5, { item_id: 'never-seen', category_id: 987_654_321, shop_id: null }),
        r(6, { user_tags: ['a', 3, String(rows[6]!.user_tags).split('|')[0]] }),
        r(7, { user_tags: '' }),
        r(8, { user_tags: null }),
        r(9, { user_tags: [] }),
        r(10, { user_tags: long }),
        r(11, { user_tags: 'a||b', price: 0 }),
      ]),
      v1([r(12, { click: 1, daction: 0, buy: 1 })]),
      v1([r(13), without(14, 'price')]),
      v1([r(15, { price: 'cheap' })]),
      v1([r(16, { user_gender: true })]),
      v1([r(17, { user_tags: 5 })]),
      v1([r(18, { user_tags: [{ a: 1 }] })]),
      v1([r(19, { colour: 'red' })]),
      v1(`{"rows": [${JSON.stringify(rows[20]).slice(0, -1)}, "__proto__": 1}]}`),
      v1([r(21, { click: 2 })]),
      v1([r(22, { click: 0, buy: 1 })]),
      v1('{"rows": [1]}'),
      v1('{"rows": []}'),
      v1(`{"rows": [${JSON.stringify(rows[23]).slice(0, -1)}, "user_age": -0}]}`),
      v2(rows.slice(24, 28)),
      v2Binary(rows.slice(28, 31)),
      v2Binary(rows.slice(31, 33), (c, v) => (c === 'price' ? [NaN, 1] : v)),
      v2Binary(rows.slice(33, 35), (c, v) => (c === 'user_tags' ? ['', 'x|y'] : c === 'item_id' ? ['', 'never-seen'] : v)),
      v2Binary(rows.slice(37, 39), (c, v) => (c === 'user_tags' ? ['café|ü', v[1]] : c === 'item_id' ? ['ß', v[1]] : v)),
      badUtf8(v2Binary(rows.slice(39, 41), (c, v) => (c === 'item_id' ? [v[0], 'QQ'] : v))),
      // Numbers for BYTES: taken for a category, refused (by encodeRows) for a tag list.
      { ...v2(rows.slice(35, 37)), body: bytes(JSON.stringify({ inputs: numbersFor(v2(rows.slice(35, 37)), ['user_tags', 'item_id']) })) },
    ];
    // Which requests the fast path took whole.
    const fast: boolean[] = [];
    const writer = Object.create(context.writer!) as NonNullable<PrepareContext['writer']>;
    writer.writeRows = (...args) => fast[fast.push(context.writer!.writeRows(...args)) - 1]!;
    writer.writeColumns = (...args) => fast[fast.push(context.writer!.writeColumns(...args)) - 1]!;
    const runs: Feeds[] = [];
    const answered = await answerBatch({ ...context, writer }, requests, 10_000, (feeds) => {
      runs.push(copy(feeds));
      return local.score(feeds, model.predictions);
    });
    const expected = requests.map((q) => reference(context, q));
    const refused = expected.map((e, k) => (e.ok ? undefined : k)).filter((k) => k !== undefined);
    // Every kind of request above is there: good ones, refusals while parsing (no rows) and while encoding (rows).
    expect(refused.length).toBeGreaterThan(10);
    expect(expected.filter((e) => !e.ok && 'rows' in e).length).toBeGreaterThan(5);
    expect(answered.outcomes[requests.length - 2]).toEqual({ ok: false, status: 400, message: "input 'item_id': BYTES element 1 is not valid UTF-8" });
    for (const [k, e] of expected.entries()) {
      if (!e.ok) expect(answered.outcomes[k], `request ${k}`).toEqual(e);
      else expect(answered.outcomes[k], `request ${k}`).toMatchObject({ ok: true, rows: e.rows });
    }
    // The good requests but the one with labels and the one whose lists are numbers (refused) went the fast way.
    expect(fast.filter(Boolean)).toHaveLength(expected.filter((e) => e.ok).length - 1);
    expect(runs).toHaveLength(1);
    const good = expected.filter((e) => e.ok);
    expect(runs[0]).toEqual(concatFeeds(good.map((e) => e.feeds)));
    // And the same again without the fast path: every request by the reference path, into the run's arrays.
    const slow: Feeds[] = [];
    const again = await answerBatch({ ...context, writer: undefined }, requests, 10_000, (feeds) => {
      slow.push(copy(feeds));
      return local.score(feeds, model.predictions);
    });
    expect(slow).toEqual(runs);
    expect(again.outcomes).toEqual(answered.outcomes);
  });

  it('encodes /v2 binary categories as /v1 encodes the same text, integers or not', async () => {
    const context = prepareContext(model);
    const texts = ['7', '007', '0', '00', '1234567890', '123456789', 'x7', '', ' 1', '१२', String(rows[50]!.item_id)];
    const some = texts.map((t, i): Record<string, unknown> => ({ ...rows[51 + i], item_id: t, user_id: String(rows[51 + i]!.user_id), category_id: i % 2 === 0 ? t : String(rows[51 + i]!.category_id) }));
    const runs: Feeds[] = [];
    const answered = await answerBatch(context, [v2Binary(some)], 10_000, (feeds) => {
      runs.push(copy(feeds));
      return local.score(feeds, model.predictions);
    });
    expect(answered.outcomes[0]).toMatchObject({ ok: true, rows: some.length });
    // /v1 with the same values as JSON strings: the encoders look each text up as text.
    const prices = some.map((r) => ({ ...r, price: Math.fround(r.price as number), item_rating: Math.fround(r.item_rating as number) }));
    expect(runs[0]).toEqual(concatFeeds([prepareRequest(context, v1(prices)).feeds]));
    expect(runs[0]!.item_id!.data.some((id) => id > 0)).toBe(true);
  });

  it('writes response bodies byte for byte as JSON.stringify of the response objects, and binary ones in a fresh whole buffer', async () => {
    const context = prepareContext(model);
    const some = rows.slice(40, 47);
    const answered = await answerBatch(context, [v1(some), v2(some), v2Binary(some)], 10_000, (feeds) => local.score(feeds, model.predictions));
    const feeds = prepareRequest(context, v1(some)).feeds;
    const scores = await local.score(copy(feeds as Feeds), model.predictions);
    const [a, b, c] = answered.outcomes as ({ ok: true } & { body: string | Uint8Array; headerLength?: number })[];
    expect(a!.body).toBe(JSON.stringify({ modelVersion: model.info.modelVersion, model_version: model.version, predictions: scoresToRows(scores, model.predictions, some.length) }));
    const outputs = model.predictions.map((name) => ({ name, shape: [some.length], datatype: 'FP32', data: Array.from(scores[name]!) }));
    expect(b!.body).toBe(JSON.stringify({ model_name: model.name, model_version: model.version, id: 'q', outputs }));
    const binary = c!.body as Uint8Array;
    expect(binary).toBeInstanceOf(Uint8Array);
    expect([binary.byteOffset, binary.buffer.byteLength]).toEqual([0, binary.byteLength]);
    const header = JSON.stringify({
      model_name: model.name,
      model_version: model.version,
      id: 'b',
      outputs: model.predictions.map((name) => ({ name, shape: [some.length], datatype: 'FP32', parameters: { binary_data_size: some.length * 4 } })),
    });
    expect(c!.headerLength).toBe(Buffer.byteLength(header));
    // Prices sent as FP32 are float32-rounded: the binary request's scores are its own feeds'.
    const binaryScores = await local.score(copy(prepareRequest(context, v2Binary(some)).feeds as Feeds), model.predictions);
    expect(Buffer.from(binary).equals(Buffer.concat([Buffer.from(header), ...model.predictions.map((p) => encodeFp32Tensor(binaryScores[p]!))]))).toBe(true);
  });

  it('refuses a request as a 500, alone, when the fast path fails with a bug', async () => {
    const context = prepareContext(model);
    let calls = 0;
    const writer = Object.create(context.writer!) as NonNullable<PrepareContext['writer']>;
    writer.writeRows = (...args) => {
      if (calls++ === 1) throw new TypeError('boom');
      return context.writer!.writeRows(...args);
    };
    const answered = await answerBatch({ ...context, writer }, [v1(rows.slice(0, 2)), v1(rows.slice(2, 3)), v1(rows.slice(3, 5))], 10_000, (feeds) => local.score(feeds, model.predictions));
    expect(answered.outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(answered.outcomes[1]).toEqual({ ok: false, message: 'boom' });
    expect(answered.runs).toEqual([4]);
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
