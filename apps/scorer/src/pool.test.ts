import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { encodeBytesTensor, encodeFp32Tensor, inputSpecs } from './open-inference.js';
import { ScoringPool } from './pool.js';
import { answerBatch, prepareContext, type AnsweredBatch, type RawRequest } from './prepare.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let pool: ScoringPool;
let local: LocalScorer;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  fixture = await makeFixture(500);
  model = await loadScoringModel(fixture.onnx);
  pool = new ScoringPool(model.source, { workers: 1, model });
  await pool.warmUp(model);
  local = await LocalScorer.create(model);
  rows = requestRows(csvRows(fixture.csv));
});

afterAll(async () => {
  await pool?.close();
  await local?.close();
  await fixture?.cleanup();
});

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The same requests answered on this thread (answerBatch over a session here), from copies of their bodies: what the workers must answer. */
function answeredHere(requests: RawRequest[]): Promise<AnsweredBatch> {
  const copies = requests.map((r) => ({ ...r, body: r.body && new Uint8Array(r.body) }));
  return answerBatch(prepareContext(model), copies, 2048, (feeds) => local.score(feeds, model.predictions));
}

/** A binary-extension /v2 request for `some` rows, every output asked for in binary. */
function binaryRequest(some: Record<string, unknown>[]): RawRequest {
  const parts: Buffer[] = [];
  const inputs = inputSpecs(model).map((s) => {
    const values = some.map((r) => r[s.column]);
    const bytes = s.datatype === 'FP32' ? encodeFp32Tensor(values as number[]) : encodeBytesTensor(values.map(String));
    parts.push(bytes);
    return { name: s.name, shape: [some.length], datatype: s.datatype, parameters: { binary_data_size: bytes.length } };
  });
  const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
  return { route: 'v2', body: Buffer.concat([header, ...parts]), binaryHeader: String(header.length), maxRows: 10_000 };
}

describe('ScoringPool.answerBodies: the hand-off to the workers', () => {
  it('moves a body that spans its own buffer, copies one that is a view of a larger buffer (left intact), and answers both as this thread does', async () => {
    const text = JSON.stringify({ rows: rows.slice(0, 3) });
    // A view into the middle of a larger buffer, as Node's pooled small Buffers are: moving its buffer would take the rest along.
    const slab = new Uint8Array(Buffer.byteLength(text) + 64);
    const part = slab.subarray(32, 32 + Buffer.byteLength(text));
    Buffer.from(part.buffer, part.byteOffset, part.byteLength).write(text);
    slab.fill(7, 0, 32);
    slab.fill(9, 32 + part.byteLength);
    const slabBefore = sha(slab);
    const whole = new Uint8Array(Buffer.from(JSON.stringify({ rows: rows.slice(3, 8) })));
    expect(whole.byteLength).toBe(whole.buffer.byteLength);
    const requests: RawRequest[] = [
      { route: 'v1', body: part, maxRows: 10_000 },
      { route: 'v1', body: whole, maxRows: 10_000 },
    ];
    const expected = await answeredHere(requests);
    const answered = await pool.answerBodies(requests, 2048);
    expect(answered).toEqual(expected);
    expect(answered.outcomes.map((o) => o.ok && o.rows)).toEqual([3, 5]);
    // The slab is still here and unchanged; the whole body's buffer went to the worker.
    expect(slab.byteLength).toBe(part.byteLength + 64);
    expect(sha(slab)).toBe(slabBefore);
    expect(whole.byteLength).toBe(0);
  });

  it('returns binary response bodies byte for byte as this thread writes them, large (moved back) and small', async () => {
    // 400 rows × 3 outputs × 4 bytes: a body past Node's pooled-Buffer size, in a buffer of its own; 2 rows: a pooled one.
    const requests = [binaryRequest(rows.slice(0, 400)), binaryRequest(rows.slice(400, 402))];
    const expected = await answeredHere(requests);
    const answered = await pool.answerBodies(requests, 2048);
    expect(answered.runs).toEqual(expected.runs);
    answered.outcomes.forEach((o, k) => {
      const want = expected.outcomes[k]!;
      if (!o.ok || !want.ok) throw new Error(`request ${k} was refused: ${JSON.stringify(o)}`);
      expect(o.headerLength).toBe(want.headerLength);
      expect(typeof o.body).not.toBe('string');
      expect(Buffer.from(o.body as Uint8Array).equals(Buffer.from(want.body as Uint8Array))).toBe(true);
    });
    expect((expected.outcomes[0] as { body: Uint8Array }).body.byteLength).toBeGreaterThan(4096);
  });

  it('answers a refusal as this thread does, and an empty body', async () => {
    const requests: RawRequest[] = [
      { route: 'v1', body: new Uint8Array(Buffer.from('{"rows": [')), maxRows: 10_000 },
      { route: 'v1', body: new Uint8Array(0), maxRows: 10_000 },
      { route: 'v1', body: undefined, maxRows: 10_000 },
    ];
    const expected = await answeredHere(requests);
    expect(await pool.answerBodies(requests, 2048)).toEqual(expected);
    expect(expected.outcomes.every((o) => !o.ok)).toBe(true);
  });
});
