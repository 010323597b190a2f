import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { startService, type RunningService } from './serve.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let local: LocalScorer;
let running: RunningService;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  fixture = await makeFixture();
  model = await loadScoringModel(fixture.onnx);
  local = await LocalScorer.create(model);
  running = await startService({ model, port: 0, workers: 2, limits: { maxRows: 500, bodyLimit: 200_000 } });
  rows = requestRows(csvRows(fixture.csv));
});

afterAll(async () => {
  await running?.close();
  await local?.close();
  await fixture?.cleanup();
});

async function post(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${running.url}/v1/score`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { predictions?: Record<string, number>[]; error?: string; modelVersion?: string; model_version?: string } };
}

describe('POST /v1/score', () => {
  it('returns the four probabilities per row, equal to direct scoring', async () => {
    const some = rows.slice(0, 7);
    const { status, json } = await post({ rows: some });
    expect(status).toBe(200);
    expect(json.modelVersion).toBe(model.info.modelVersion);
    // Served with --model, the version serving is the content version.
    expect(json.model_version).toBe(model.info.modelVersion);
    expect(json.predictions).toEqual(await local.scoreRows(model, some));
    for (const p of json.predictions!) {
      expect(Object.keys(p)).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr']);
      expect(p.pctcvr).toBeLessThanOrEqual(p.pctr!);
    }
  });

  it('scores unseen categorical values as OOV instead of failing', async () => {
    const row = rows[0]!;
    const unseenA = { ...row, user_id: 987654321, item_id: 'never-seen', user_tags: 'tX|tY' };
    const unseenB = { ...row, user_id: 123456789, item_id: 'also-new', user_tags: 'tZ' };
    const { status, json } = await post({ rows: [unseenA, unseenB, row] });
    expect(status).toBe(200);
    expect(json.predictions![0]).toEqual(json.predictions![1]); // both all-OOV in the same fields
    expect(json.predictions).toEqual(await local.scoreRows(model, [unseenA, unseenB, row]));
  });

  it('takes a list field as an array or as delimited text, and null categoricals as OOV', async () => {
    const row = rows[0]!;
    const tags = String(row.user_tags).split('|');
    const { status, json } = await post({ rows: [row, { ...row, user_tags: tags }, { ...row, shop_id: null }, { ...row, shop_id: 'nope' }] });
    expect(status).toBe(200);
    expect(json.predictions![1]).toEqual(json.predictions![0]);
    expect(json.predictions![2]).toEqual(json.predictions![3]);
  });

  const bad: [string, unknown, number, RegExp][] = [
    ['bad JSON', '{"rows": [', 400, /invalid JSON body: .*JSON/],
    ['an empty body', '', 400, /invalid JSON body/],
    ['a "__proto__" key in a row', '{"rows": [{"__proto__": {"user_id": 1}}]}', 400, /row 0: unknown field '__proto__'/],
    ['a top-level "__proto__" key', '{"rows": [{"user_id": 1}], "__proto__": {"polluted": true}}', 400, /unknown top-level key\(s\) '__proto__'/],
    ['a body that is not an object', '[1,2]', 400, /body must be a JSON object/],
    ['no rows key', { data: [] }, 400, /unknown top-level key\(s\) 'data'/],
    ['rows not an array', { rows: { user_id: 1 } }, 400, /"rows" must be an array/],
    ['empty rows', { rows: [] }, 400, /"rows" is empty/],
    ['a row that is not an object', { rows: [42] }, 400, /row 0: expected an object/],
    ['an unknown field', { rows: [{ colour: 'red' }] }, 400, /row 0: unknown field 'colour'/],
    ['a missing field', { rows: [{ user_id: 1 }] }, 400, /row 0, field '\w+': missing/],
    ['a wrongly typed numeric', 'price', 400, /row 1, field 'price'.*number/],
    ['a wrongly typed categorical', 'user_id', 400, /row 1, field 'user_id'/],
    ['too many rows', 'many', 413, /too many rows: 501 \(at most 500/],
  ];
  for (const [label, body, status, message] of bad) {
    it(`answers ${status} with a message for ${label}`, async () => {
      let payload = body;
      if (body === 'price') payload = { rows: [rows[0], { ...rows[1], price: 'cheap' }] };
      if (body === 'user_id') payload = { rows: [rows[0], { ...rows[1], user_id: { id: 3 } }] };
      if (body === 'many') payload = { rows: Array.from({ length: 501 }, () => ({ user_id: 1 })) };
      const res = await post(payload);
      expect(res.status).toBe(status);
      expect(res.json.error).toMatch(message);
    });
  }

  it('lists only the input fields (not label, key or truth columns) when refusing an unknown field', async () => {
    const { status, json } = await post({ rows: [{ ...rows[0], colour: 'red' }] });
    expect(status).toBe(400);
    expect(json.error).toBe(`row 0: unknown field 'colour'; the model takes ${model.encoders.columns(false).join(', ')}`);
    const listed = json.error!.split('the model takes ')[1]!.split(', ');
    const { labels, truth } = model.encoders.config;
    const notInputs = [labels.click, labels.buy, ...labels.daction, ...Object.values(truth)];
    expect(notInputs).toEqual(expect.arrayContaining(['click', 'buy']));
    for (const column of notInputs) expect(listed).not.toContain(column);
    // Those columns are still accepted in a row, and ignored.
    const labelled = await post({ rows: [{ ...rows[0], click: 1, buy: 0, daction: 0 }] });
    expect(labelled.status).toBe(200);
  });

  it('refuses a body that is not UTF-8 (an id so damaged would score as an unseen one), naming the offset', async () => {
    const text = JSON.stringify({ rows: [{ ...rows[0], item_id: 'AB' }] });
    const at = text.indexOf('"AB"') + 2;
    const body = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff]), Buffer.from(text.slice(at))]); // "A\xffB"
    const res = await fetch(`${running.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(`the body is not valid UTF-8 (first bad byte at offset ${at})`);
    // An overlong encoding and a lone surrogate are not UTF-8 either; well-formed multi-byte text is.
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const damaged = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
      const r = await fetch(`${running.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: damaged });
      expect(((await r.json()) as { error: string }).error).toBe(`the body is not valid UTF-8 (first bad byte at offset ${at})`);
    }
    const fine = await post({ rows: [{ ...rows[0], item_id: 'A€😀B' }] });
    expect(fine.status).toBe(200);
  });

  it('answers 413 for a body over the size limit and 415 for a non-JSON content type', async () => {
    const big = await post({ rows: Array.from({ length: 2000 }, () => rows[0]) });
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/larger than the 200000-byte limit/);
    const text = await post('user_id=1', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.json.error).toMatch(/send application\/json/);
  });

  it('still serves after all those errors (no crash)', async () => {
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', model: 'esm2', modelVersion: model.info.modelVersion, model_version: model.info.modelVersion, workers: 2 });
  });

  it('answers a concurrent burst with, for every request, exactly the batch scorer result for its rows', async () => {
    const requests = Array.from({ length: 80 }, (_, k) => {
      const start = (k * 37) % (rows.length - 60);
      return rows.slice(start, start + 1 + ((k * 13) % 60));
    });
    const responses = await Promise.all(requests.map((r) => post({ rows: r })));
    for (const [k, res] of responses.entries()) {
      expect(res.status).toBe(200);
      expect(res.json.predictions, `request ${k}`).toEqual(await local.scoreRows(model, requests[k]!));
    }
    // How many runs that took depends on arrival timing; that requests are merged is
    // shown without timing in service-lifecycle.test.ts.
  });
});

describe('POST /v2/models/esm2/infer through the worker pool', () => {
  it('answers the same scores as /v1/score for the same rows (open-inference.test.ts covers the protocol)', async () => {
    const some = rows.slice(3, 40);
    const inputs = model.encoders.config.fields.map((f) => ({
      name: f.column,
      shape: [some.length],
      datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
      data: some.map((r) => (f.kind === 'numeric' ? r[f.column] : String(r[f.column]))),
    }));
    const res = await fetch(`${running.url}/v2/models/esm2/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { outputs: { name: string; data: number[] }[] };
    const v1 = (await post({ rows: some })).json.predictions!;
    expect(json.outputs.map((o) => o.name)).toEqual(model.predictions);
    for (const o of json.outputs) expect(o.data, o.name).toEqual(v1.map((p) => p[o.name]));
  });
});

describe('GET /metrics and unknown routes', () => {
  it('exposes request counts by status, latency and batch-size histograms in Prometheus format', async () => {
    const res = await fetch(`${running.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    // Every series of a request a model version took carries that version.
    const version = `version="${model.version}"`;
    expect(text).toContain(`esm2_scorer_requests_total{route="/v1/score",status="200",${version}} `);
    expect(text).toContain(`esm2_scorer_requests_total{route="/v1/score",status="400",${version}} `);
    expect(text).toContain(`esm2_scorer_request_duration_seconds_bucket{le="0.005",route="/v1/score",${version}} `);
    expect(text).toContain(`esm2_scorer_request_rows_bucket{le="100",${version}} `);
    expect(text).toMatch(new RegExp(`esm2_scorer_batch_rows_sum\\{${version}\\} \\d+`));
    expect(text).toContain(`esm2_scorer_model_version_serving{${version}} 1`);
    // A route no version answers has no version label.
    expect(text).toMatch(/esm2_scorer_requests_total\{route="\/healthz",status="200"\} \d+/);
  });

  it('answers 404 with the routes it has', async () => {
    const res = await fetch(`${running.url}/v2/score`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/POST \/v1\/score/);
  });

  it('answers 405 with an Allow header for a known path with the wrong method', async () => {
    const get = await fetch(`${running.url}/v1/score?x=1`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as { error: string }).error).toBe('method GET is not allowed on /v1/score; use POST');
    const post = await fetch(`${running.url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('takes application/json with a charset parameter', async () => {
    const { status } = await post({ rows: rows.slice(0, 1) }, { 'content-type': 'application/json; charset=utf-8' });
    expect(status).toBe(200);
  });
});
