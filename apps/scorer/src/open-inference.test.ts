import { exportArtifactToTriton } from '@esm2/backend-onnx';
import { readArtifact } from '@esm2/core/node';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { encodeBytesTensor, encodeFp32Tensor } from './open-inference.js';
import { ScoringPool } from './pool.js';
import { buildService, type Service } from './server.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let local: LocalScorer;
let service: Service;
let rows: Record<string, unknown>[];
/** The model's fields as the protocol names them: source column and datatype. */
let fields: { name: string; datatype: 'BYTES' | 'FP32' }[];

beforeAll(async () => {
  fixture = await makeFixture(500);
  model = await loadScoringModel(fixture.onnx);
  local = await LocalScorer.create(model);
  // The service on a session in this thread, driven through fastify.inject: no sockets, no worker pool.
  service = buildService({ model, scorer: local, limits: { maxRows: 50, bodyLimit: 100_000 } });
  rows = requestRows(csvRows(fixture.csv));
  fields = model.encoders.config.fields.map((f) => ({ name: f.column, datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES' }));
});

afterAll(async () => {
  await service?.close();
  await local?.close();
  await fixture?.cleanup();
});

type Tensor = { name: string; shape: number[]; datatype: string; data?: unknown[]; parameters?: Record<string, unknown> };
type InferBody = { model_name?: string; model_version?: string; id?: string; outputs?: Tensor[]; error?: string };

/** Rows as the protocol's JSON tensors: one 1-D tensor per field, categorical values as strings. */
function tensors(some: Record<string, unknown>[]): Tensor[] {
  return fields.map(({ name, datatype }) => ({
    name,
    shape: [some.length],
    datatype,
    data: some.map((r) => (datatype === 'FP32' ? r[name] : String(r[name]))),
  }));
}

const url = (path = '') => `/v2/models/esm2${path}`;

async function infer(body: unknown, path = url('/infer')) {
  const res = await service.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.statusCode, json: res.json<InferBody>() };
}

async function v1(some: Record<string, unknown>[]) {
  const res = await service.app.inject({ method: 'POST', url: '/v1/score', payload: { rows: some } });
  expect(res.statusCode).toBe(200);
  return res.json<{ predictions: Record<string, number>[] }>().predictions;
}

describe('Open Inference Protocol: health and metadata', () => {
  it('answers liveness and readiness with 200 and an empty body', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', url('/ready'), url(`/versions/${model.info.modelVersion}/ready`)]) {
      const res = await service.app.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(200);
      expect(res.body, path).toBe('');
    }
  });

  it('gives server metadata listing the binary tensor data extension', async () => {
    const res = await service.app.inject({ method: 'GET', url: '/v2' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'esm2-score', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['binary_tensor_data'] });
  });

  it('gives model metadata: one 1-D input per raw feature field, FP32 outputs per prediction', async () => {
    const res = await service.app.inject({ method: 'GET', url: url() });
    expect(res.statusCode).toBe(200);
    const meta = res.json<{ name: string; versions: string[]; platform: string; inputs: Tensor[]; outputs: Tensor[] }>();
    expect(meta.name).toBe('esm2');
    expect(meta.versions).toEqual([model.info.modelVersion]);
    expect(meta.platform).toBe('onnxruntime_onnx');
    expect(meta.inputs).toEqual(fields.map((f) => ({ ...f, shape: [-1] })));
    expect(meta.inputs.map((i) => i.datatype)).toContain('BYTES');
    expect(meta.inputs.map((i) => i.datatype)).toContain('FP32');
    expect(meta.outputs).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr'].map((name) => ({ name, datatype: 'FP32', shape: [-1] })));
    const versioned = await service.app.inject({ method: 'GET', url: url(`/versions/${model.info.modelVersion}`) });
    expect(versioned.json()).toEqual(meta);
  });

  it('answers 404 with {"error"} for an unknown model or version on every model route', async () => {
    for (const [method, path] of [
      ['GET', '/v2/models/other'],
      ['GET', '/v2/models/other/ready'],
      ['POST', '/v2/models/other/infer'],
      ['GET', '/v2/models/esm2/versions/sha256:0000/ready'],
    ] as const) {
      const res = await service.app.inject({ method, url: path, ...(method === 'POST' ? { payload: { inputs: tensors(rows.slice(0, 1)) } } : {}) });
      expect(res.statusCode, path).toBe(404);
      expect(res.json<{ error: string }>().error, path).toMatch(path.includes('other') ? /unknown model 'other': this server serves 'esm2'/ : /has no version 'sha256:0000'/);
    }
  });
});

describe('POST /v2/models/{name}/infer (JSON)', () => {
  it('answers the protocol response shape with the same scores as /v1/score for the same rows', async () => {
    const some = rows.slice(0, 9);
    const { status, json } = await infer({ id: 'req-1', inputs: tensors(some) });
    expect(status).toBe(200);
    expect(json.model_name).toBe('esm2');
    expect(json.model_version).toBe(model.info.modelVersion);
    expect(json.id).toBe('req-1');
    const expected = await v1(some);
    expect(json.outputs!.map((o) => o.name)).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr']);
    for (const o of json.outputs!) {
      expect(o.shape).toEqual([9]);
      expect(o.datatype).toBe('FP32');
      expect(o.data).toEqual(expected.map((p) => p[o.name]));
    }
    expect(expected).toEqual(await local.scoreRows(model, some));
  });

  it('answers only the requested outputs, in the requested order, and no id when none was sent', async () => {
    const some = rows.slice(10, 13);
    const { status, json } = await infer({ inputs: tensors(some), outputs: [{ name: 'pctcvr' }, { name: 'pctr' }] });
    expect(status).toBe(200);
    expect('id' in json).toBe(false);
    const expected = await v1(some);
    expect(json.outputs).toEqual([
      { name: 'pctcvr', shape: [3], datatype: 'FP32', data: expected.map((p) => p.pctcvr) },
      { name: 'pctr', shape: [3], datatype: 'FP32', data: expected.map((p) => p.pctr) },
    ]);
  });

  it('takes "model_name" and "model_version" in the body when they are the model served', async () => {
    const some = rows.slice(0, 2);
    const { status, json } = await infer({ model_name: 'esm2', model_version: model.info.modelVersion, inputs: tensors(some) });
    expect(status).toBe(200);
    expect(json.outputs![0]!.data).toEqual((await v1(some)).map((p) => p.pctr));
  });

  it('refuses a JSON body that is not UTF-8 instead of scoring the damaged id as an unseen one', async () => {
    const text = JSON.stringify({ inputs: tensors(rows.slice(0, 2)) });
    const at = text.indexOf('"data":["') + 9;
    // 0xC3 0x28: a lead byte followed by a byte that cannot continue it.
    const body = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(at))]);
    const res = await service.app.inject({ method: 'POST', url: url('/infer'), headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toBe(`the JSON body is not valid UTF-8 (first bad byte at offset ${at})`);
  });

  it('takes numbers for BYTES values and unseen categories as OOV, like /v1', async () => {
    const some = [{ ...rows[0]!, item_id: 'never-seen' }, rows[1]!];
    const input = tensors(some).map((t) => (t.name === 'user_id' ? { ...t, data: some.map((r) => r.user_id) } : t));
    const { status, json } = await infer({ inputs: input });
    expect(status).toBe(200);
    expect(json.outputs![0]!.data).toEqual((await v1(some)).map((p) => p.pctr));
  });

  const bad: [string, (t: Tensor[]) => unknown, number, RegExp][] = [
    ['malformed JSON', () => '{"inputs": [', 400, /invalid JSON body: .*JSON/],
    ['a body that is not an object', () => '[1]', 400, /body must be a JSON object/],
    ['no inputs', () => ({}), 400, /missing "inputs"/],
    ['an unknown top-level key', (t) => ({ inputs: t, rows: [] }), 400, /unknown top-level key\(s\) 'rows'/],
    ['a missing input', (t) => ({ inputs: t.filter((x) => x.name !== 'price') }), 400, /missing input\(s\) 'price'/],
    ['an unknown input', (t) => ({ inputs: [...t, { name: 'colour', shape: [2], datatype: 'BYTES', data: ['a', 'b'] }] }), 400, /input 'colour': the model has no such input/],
    ['an input given twice', (t) => ({ inputs: [...t, t[0]] }), 400, /given twice/],
    ['a wrong datatype', (t) => ({ inputs: t.map((x) => (x.name === 'price' ? { ...x, datatype: 'FP64' } : x)) }), 400, /input 'price': datatype must be FP32, got "FP64"/],
    ['a BYTES field sent as FP32', (t) => ({ inputs: t.map((x) => (x.name === 'item_id' ? { ...x, datatype: 'FP32' } : x)) }), 400, /input 'item_id': datatype must be BYTES/],
    ['a 2-D shape', (t) => ({ inputs: t.map((x) => (x.name === 'price' ? { ...x, shape: [2, 1] } : x)) }), 400, /input 'price': shape must be \[n\].*\[2,1\]/],
    ['shapes that disagree', (t) => ({ inputs: t.map((x) => (x.name === 'price' ? { ...x, shape: [1], data: [1] } : x)) }), 400, /input 'price': shape \[1\] does not match the other inputs' \[2\]/],
    ['data longer than the shape', (t) => ({ inputs: t.map((x) => (x.name === 'price' ? { ...x, data: [1, 2, 3] } : x)) }), 400, /input 'price': "data" has 3 values but shape says 2/],
    ['a string in an FP32 tensor', (t) => ({ inputs: t.map((x) => (x.name === 'price' ? { ...x, data: [1, 'cheap'] } : x)) }), 400, /input 'price', element 1: expected a number \(FP32\), got string/],
    ['an unknown output', (t) => ({ inputs: t, outputs: [{ name: 'ctr' }] }), 400, /output 'ctr': the model has no such output; it gives pctr, pctavr, pcvr, pctcvr/],
    ['too many rows', () => ({ inputs: tensors(Array.from({ length: 51 }, () => rows[0]!)) }), 413, /too many rows: 51 \(at most 50/],
    ['an empty "outputs"', (t) => ({ inputs: t, outputs: [] }), 400, /"outputs" is empty: name at least one of pctr, pctavr, pcvr, pctcvr, or leave "outputs" out/],
    ['a "model_name" that is not the model served', (t) => ({ model_name: 'other', inputs: t }), 400, /"model_name" "other" is not the model this path serves, 'esm2'/],
    ['a "model_name" that is not a string', (t) => ({ model_name: 7, inputs: t }), 400, /"model_name" 7 is not the model this path serves/],
    ['a "model_version" that is not the version served', (t) => ({ model_version: 'sha256:0000', inputs: t }), 400, /"model_version" "sha256:0000" is not the version served, 'sha256:/],
  ];
  for (const [label, make, status, message] of bad) {
    it(`answers ${status} {"error"} naming the problem for ${label}`, async () => {
      const res = await infer(make(tensors(rows.slice(0, 2))));
      expect(res.status).toBe(status);
      expect(res.json.error).toMatch(message);
    });
  }

  it('answers 415 for a content type it does not read, and 405 for GET on the infer path', async () => {
    const text = await service.app.inject({ method: 'POST', url: url('/infer'), headers: { 'content-type': 'text/plain' }, payload: 'x' });
    expect(text.statusCode).toBe(415);
    expect(text.json<{ error: string }>().error).toMatch(/application\/octet-stream with Inference-Header-Content-Length/);
    const health = await service.app.inject({ method: 'POST', url: '/v2/health/live' });
    expect(health.statusCode).toBe(405);
    expect(health.headers.allow).toBe('GET, HEAD');
    const get = await service.app.inject({ method: 'GET', url: url('/infer') });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.json<{ error: string }>().error).toBe('method GET is not allowed on /v2/models/esm2/infer; use POST');
  });
});

/** A binary-extension request: the JSON header, then each input's bytes in order. */
function binaryRequest(some: Record<string, unknown>[], outputs: unknown, resize: (name: string, bytes: Buffer) => Buffer = (_n, b) => b) {
  const parts: Buffer[] = [];
  const inputs = fields.map(({ name, datatype }) => {
    const values = some.map((r) => r[name]);
    const bytes = resize(name, datatype === 'FP32' ? encodeFp32Tensor(values as number[]) : encodeBytesTensor(values.map(String)));
    parts.push(bytes);
    return { name, shape: [some.length], datatype, parameters: { binary_data_size: bytes.length } };
  });
  const header = Buffer.from(JSON.stringify({ id: 'bin', inputs, outputs }));
  return { header, body: Buffer.concat([header, ...parts]) };
}

async function postBinary(body: Buffer, headerLength: number | string) {
  return service.app.inject({
    method: 'POST',
    url: url('/infer'),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    payload: body,
  });
}

describe('POST /v2/models/{name}/infer (binary tensor data extension)', () => {
  // FP32 on the wire: the JSON reference gets the same float32-rounded numbers.
  const rounded = () => rows.slice(20, 31).map((r) => ({ ...r, price: Math.fround(r.price as number), item_rating: Math.fround(r.item_rating as number) }));

  it('round-trips binary inputs and binary outputs, equal to the JSON answer for the same rows', async () => {
    const some = rounded();
    const { body, header } = binaryRequest(some, [{ name: 'pctr', parameters: { binary_data: true } }, { name: 'pcvr' }, { name: 'pctcvr', parameters: { binary_data: true } }]);
    const res = await postBinary(body, header.length);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const raw = res.rawPayload;
    const length = Number(res.headers['inference-header-content-length']);
    const json = JSON.parse(raw.subarray(0, length).toString('utf8')) as InferBody;
    expect(json.id).toBe('bin');
    expect(json.outputs).toEqual([
      { name: 'pctr', shape: [11], datatype: 'FP32', parameters: { binary_data_size: 44 } },
      { name: 'pcvr', shape: [11], datatype: 'FP32', data: expect.any(Array) },
      { name: 'pctcvr', shape: [11], datatype: 'FP32', parameters: { binary_data_size: 44 } },
    ]);
    expect(raw.length).toBe(length + 88);
    const f32 = (at: number) => Array.from({ length: 11 }, (_, i) => raw.readFloatLE(at + 4 * i));
    const expected = await v1(some);
    expect(f32(length)).toEqual(expected.map((p) => p.pctr));
    expect(json.outputs![1]!.data).toEqual(expected.map((p) => p.pcvr));
    expect(f32(length + 44)).toEqual(expected.map((p) => p.pctcvr));
    const viaJson = await infer({ inputs: tensors(some) });
    expect(viaJson.json.outputs!.find((o) => o.name === 'pctr')!.data).toEqual(f32(length));
  });

  it('answers every output in binary with binary_data_output, and JSON when no output asks for binary', async () => {
    const some = rounded().slice(0, 3);
    const { body, header } = binaryRequest(some, undefined);
    const withAll = JSON.parse(header.toString()) as Record<string, unknown>;
    const allHeader = Buffer.from(JSON.stringify({ ...withAll, parameters: { binary_data_output: true } }));
    const all = await postBinary(Buffer.concat([allHeader, body.subarray(header.length)]), allHeader.length);
    expect(all.statusCode).toBe(200);
    expect(all.rawPayload.length).toBe(Number(all.headers['inference-header-content-length']) + 4 * 4 * 3);
    const plain = await postBinary(body, header.length);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/application\/json/);
    const expected = await v1(some);
    expect(plain.json<InferBody>().outputs!.map((o) => o.data)).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr'].map((n) => expected.map((p) => p[n])));
    const head = Number(all.headers['inference-header-content-length']);
    expect(Array.from({ length: 3 }, (_, i) => all.rawPayload.readFloatLE(head + 4 * 3 * 3 + 4 * i))).toEqual(expected.map((p) => p.pctcvr));
  });

  const cases: [string, () => { body: Buffer; length: number | string }, RegExp][] = [
    ['a header length past the body', () => ({ body: Buffer.from('{}'), length: 99 }), /Inference-Header-Content-Length '99' must be a whole number of bytes no larger than the 2-byte body/],
    ['a header length that is not a number', () => ({ body: Buffer.from('{}'), length: 'ten' }), /Inference-Header-Content-Length 'ten'/],
    ['a header that is not JSON', () => ({ body: Buffer.from('{"inputs": [xx'), length: 14 }), /invalid JSON header \(the first Inference-Header-Content-Length bytes\)/],
    ['an FP32 size that is not 4 bytes per row', () => sized((n, b) => (n === 'price' ? b.subarray(0, 6) : b)), /input 'price': "binary_data_size" is 6 bytes but 2 FP32 values take 8/],
    ['a BYTES element cut short', () => sized((n, b) => (n === 'item_id' ? b.subarray(0, b.length - 1) : b)), /input 'item_id': BYTES element 1 says \d+ bytes but only \d+ are left/],
    ['a BYTES tensor with one element too many', () => sized((n, b) => (n === 'item_id' ? Buffer.concat([b, encodeBytesTensor(['x'])]) : b)), /input 'item_id': the binary data holds 3 BYTES elements but shape says 2/],
    ['bytes left over after the tensors', () => { const r = binaryRequest(rows.slice(0, 2), undefined); return { body: Buffer.concat([r.body, Buffer.from([1, 2, 3])]), length: r.header.length }; }, /3 binary byte\(s\) after the tensors' binary_data_size total/],
    ['sizes running past the body', () => { const r = binaryRequest(rows.slice(0, 2), undefined); return { body: r.body.subarray(0, r.body.length - 2), length: r.header.length }; }, /runs past the end of the body/],
  ];
  function sized(resize: (name: string, bytes: Buffer) => Buffer) {
    const r = binaryRequest(rows.slice(0, 2), undefined, resize);
    return { body: r.body, length: r.header.length };
  }
  for (const [label, make, message] of cases) {
    it(`answers 400 {"error"} for ${label}`, async () => {
      const { body, length } = make();
      const res = await postBinary(body, length);
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: string }>().error).toMatch(message);
    });
  }

  it('answers 400 for binary_data_size without the Inference-Header-Content-Length header', async () => {
    const { header } = binaryRequest(rows.slice(0, 2), undefined);
    const { json, status } = await infer(header.toString());
    expect(status).toBe(400);
    expect(json.error).toMatch(/has "binary_data_size" but the request has no Inference-Header-Content-Length header/);
  });
});

describe('Open Inference Protocol: a Triton model folder', () => {
  it('is served under its config name (export --triton --name), as Triton serves it, also from the scoring workers', async () => {
    const written = await exportArtifactToTriton(await readArtifact(fixture.artifact), join(fixture.dir, 'named-repo'), { name: 'ctr_cvr' });
    const served = await loadScoringModel(written.dir);
    expect(served.name).toBe('ctr_cvr');
    // The workers rebuild the model from what crosses to them: the name goes too.
    const pool = new ScoringPool(served.source, { workers: 1, model: served });
    // Started and loaded before the first request, as `serve` does: on a loaded machine a worker's start
    // (tsx, onnxruntime, the session) can take longer than the request's scoring timeout, which answers 503.
    await pool.warmUp(served);
    const named = buildService({ model: served, scorer: pool, limits: { maxRows: 50, bodyLimit: 100_000 } });
    try {
      const meta = await named.app.inject({ method: 'GET', url: '/v2/models/ctr_cvr' });
      expect(meta.statusCode).toBe(200);
      expect(meta.json<{ name: string }>().name).toBe('ctr_cvr');
      const res = await named.app.inject({ method: 'POST', url: '/v2/models/ctr_cvr/infer', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ inputs: tensors(rows.slice(0, 3)) }) });
      expect(res.statusCode).toBe(200);
      expect(res.json<InferBody>().model_name).toBe('ctr_cvr');
      const other = await named.app.inject({ method: 'GET', url: '/v2/models/esm2' });
      expect(other.statusCode).toBe(404);
      expect(other.json<{ error: string }>().error).toContain("'ctr_cvr'");
    } finally {
      await named.close();
      await pool.close();
    }
  });
});
