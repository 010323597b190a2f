import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feeds, Scores } from './feeds.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { buildService, type FeedScorer } from './server.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  fixture = await makeFixture(500);
  model = await loadScoringModel(fixture.run); // the artifact directory this time
  rows = requestRows(csvRows(fixture.csv));
}, 60_000);
afterAll(() => fixture?.cleanup());

/** A stand-in scorer taking `ms` per run, answering 0.5 everywhere. */
function slowScorer(ms: number): FeedScorer & { runs: number } {
  const s = {
    workers: 1,
    runs: 0,
    async score(feeds: Feeds, outputs: string[]): Promise<Scores> {
      s.runs++;
      await new Promise((r) => setTimeout(r, ms));
      const n = Object.values(feeds)[0]!.shape[0]!;
      return Object.fromEntries(outputs.map((o) => [o, new Float32Array(n).fill(0.5)]));
    },
  };
  return s;
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('service lifecycle', () => {
  it('answers 503 with a message when scoring exceeds the per-request timeout, and keeps serving', async () => {
    const service = buildService({ model, scorer: slowScorer(300), limits: { timeoutMs: 50 } });
    const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await post(url, { rows: rows.slice(0, 2) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: string }).error).toMatch(/did not finish within 50 ms/);
    await service.close();
  });

  it('finishes in-flight requests on graceful shutdown and then refuses connections', async () => {
    const scorer = slowScorer(150);
    const service = buildService({ model, scorer });
    const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
    const inflight = Array.from({ length: 6 }, (_, k) => post(url, { rows: rows.slice(k, k + 3) }));
    await new Promise((r) => setTimeout(r, 40)); // requests received, scoring under way
    await service.close();
    const answered = await Promise.all(inflight);
    expect(answered.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const body = (await answered[5]!.json()) as { predictions: Record<string, number>[] };
    expect(body.predictions).toHaveLength(3);
    await expect(post(url, { rows: rows.slice(0, 1) })).rejects.toThrow();
  });

  it('answers 500 with a message, not a crash, when the session fails', async () => {
    const service = buildService({
      model,
      scorer: { workers: 1, score: () => Promise.reject(new Error('onnxruntime: boom')) },
    });
    const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await post(url, { rows: rows.slice(0, 1) });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toBe('internal error: onnxruntime: boom');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await service.close();
  });
});
