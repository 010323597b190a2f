import { once } from 'node:events';
import { maxHeaderSize } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScoringModel, type ScoringModel } from './model.js';
import { encodeRows } from './request.js';
import { buildService, type Service, type ServiceLimits } from './server.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { GatedScorer, countdown } from './test-support/gated-scorer.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let model: ScoringModel;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  fixture = await makeFixture(500);
  model = await loadScoringModel(fixture.run); // the artifact directory this time
  rows = requestRows(csvRows(fixture.csv));
});
afterAll(() => fixture?.cleanup());

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Builds and starts a service; `setup` may add hooks (only possible before listening). */
async function listen(
  scorer: GatedScorer,
  limits: Partial<ServiceLimits> = {},
  setup: (service: Service) => void = () => undefined,
): Promise<{ service: Service; url: string; port: number }> {
  const service = buildService({ model, scorer, limits });
  setup(service);
  const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
  return { service, url, port: Number(new URL(url).port) };
}

/** A raw client that sends headers announcing a 1000-byte body, then only 10 bytes of it, and stalls. */
function stalledUpload(port: number): { socket: Socket; received: () => string } {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined); // a reset is one way of being cut off
  socket.write('POST /v1/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"rows": [');
  return { socket, received: () => received };
}

describe('service lifecycle', () => {
  it('answers 503 with a message when scoring exceeds the per-request timeout, and keeps serving', async () => {
    const scorer = new GatedScorer(); // never released until the end: the timeout must answer
    const { service, url } = await listen(scorer, { timeoutMs: 50 });
    const res = await post(url, { rows: rows.slice(0, 2) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: string }).error).toMatch(/did not finish within 50 ms/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    scorer.open();
    expect(await service.close()).toBe(true);
  });

  it('finishes in-flight requests on graceful shutdown and then refuses connections', async () => {
    const scorer = new GatedScorer();
    const received = countdown(6);
    const closeStarted = countdown(1);
    const { service, url } = await listen(scorer, {}, ({ app }) => {
      // preHandler runs once a request's body is read, just before the route: "the request is in".
      app.addHook('preHandler', (_request, _reply, done) => {
        received.tick();
        done();
      });
      app.addHook('preClose', (done) => {
        closeStarted.tick();
        done();
      });
    });

    const inflight = Array.from({ length: 6 }, (_, k) => post(url, { rows: rows.slice(k, k + 3) }));
    await received.done;
    await scorer.started(1); // the first request is being scored and held there; the others wait behind it
    let closed = false;
    const closing = service.close().then((clean) => {
      closed = true;
      return clean;
    });
    await closeStarted.done;
    expect(closed).toBe(false); // close waits for the six requests
    scorer.open();
    expect(await closing).toBe(true);
    const answered = await Promise.all(inflight);
    expect(answered.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const body = (await answered[5]!.json()) as { predictions: Record<string, number>[] };
    expect(body.predictions).toHaveLength(3);
    expect(body.predictions[0]!.pctr).toBe(0.5);
    await expect(post(url, { rows: rows.slice(0, 1) })).rejects.toThrow();
  });

  it('merges requests that arrive while the worker is busy into one run, each answered with its own rows', async () => {
    // Each row is answered with its own normalised price, so a reply can be traced to its rows.
    const scorer = new GatedScorer((feeds, outputs, n) => Object.fromEntries(outputs.map((o) => [o, Float32Array.from(feeds.price!.data.subarray(0, n))])));
    const requests = Array.from({ length: 12 }, (_, k) => rows.slice(k * 7, k * 7 + 1 + (k % 5)));
    const received = countdown(requests.length);
    const { service, url } = await listen(scorer, {}, ({ app }) =>
      app.addHook('preHandler', (_request, _reply, done) => {
        received.tick();
        done();
      }),
    );
    const first = post(url, { rows: requests[0] });
    await scorer.started(1); // the first request holds the only worker
    const replies = [first, ...requests.slice(1).map((r) => post(url, { rows: r }))];
    await received.done;
    // Handlers submit to the batcher in the microtasks after their preHandler: one event-loop turn later all have.
    await new Promise((resolve) => setImmediate(resolve));
    scorer.open();
    const answered = await Promise.all(replies);
    // The eleven requests that arrived while the worker was busy left together in one run.
    expect(scorer.runs.map((r) => r.rows)).toEqual([requests[0]!.length, requests.slice(1).reduce((n, r) => n + r.length, 0)]);
    for (const [k, res] of answered.entries()) {
      const prices = encodeRows(model, requests[k]!).price!.data;
      const body = (await res.json()) as { predictions: Record<string, number>[] };
      expect(body.predictions.map((p) => p.pctr), `request ${k}`).toEqual([...prices]);
    }
    await service.close();
  });

  it('answers 500 with a message, not a crash, when the session fails', async () => {
    const service = buildService({
      model,
      scorer: { workers: 1, score: () => Promise.reject(new Error('onnxruntime: boom')) },
    });
    const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await post(url, { rows: rows.slice(0, 1) });
    expect(res.status).toBe(500);
    const { error } = (await res.json()) as { error: string };
    // What failed inside stays in the log: the reply names the request, not the message.
    expect(error).toMatch(/^internal error \(request [\w-]+\); the server log has the details$/);
    expect(error).not.toContain('boom');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await service.close();
  });

  it('answers 500 and logs it when the encoders fail with a bug; bad values stay 400', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const broken = Object.create(model.encoders) as typeof model.encoders;
    broken.encodeRows = () => {
      throw new TypeError("Cannot read properties of undefined (reading 'length')");
    };
    // No fast path: every request goes through encodeRows, where the bug is.
    broken.rowWriter = () => undefined;
    const service = buildService({ model: { ...model, encoders: broken }, scorer: new GatedScorer(), logger: pino({ level: 'error' }, sink) });
    const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
    const res = await post(url, { rows: rows.slice(0, 1) });
    expect(res.status).toBe(500);
    const { error } = (await res.json()) as { error: string };
    const reqId = /^internal error \(request ([\w-]+)\)/.exec(error)?.[1];
    expect(reqId, error).toBeDefined();
    expect(error).not.toContain('Cannot read properties');
    // The log line of that request holds the details.
    const logged = lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; err?: { message?: string } }).find((l) => l.msg === 'scoring failed');
    expect(logged?.reqId).toBe(reqId);
    expect(logged?.err?.message).toMatch(/Cannot read properties of undefined/);
    await service.close();

    const healthy = buildService({ model, scorer: new GatedScorer() });
    const healthyUrl = await healthy.app.listen({ port: 0, host: '127.0.0.1' });
    const bad = await post(healthyUrl, { rows: [{ ...rows[0], price: 'cheap' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/row 0, field 'price': expected a number, got string/);
    await healthy.close();
  });
});

describe('stalled uploads', () => {
  // Node checks request timeouts only every 30 s by default: without the service's shorter check
  // the socket would close only then, so this test's own timeout (far above the 300 ms, far below
  // 30 s) is what tells the two apart. It is a hang catcher, not a speed check.
  it('are answered 408 and closed once the request timeout passes', { timeout: 20_000 }, async () => {
    const { service, port } = await listen(new GatedScorer(), { requestTimeoutMs: 300 });
    const client = stalledUpload(port);
    await once(client.socket, 'close');
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(client.received().split('\r\n\r\n')[1]!)).toEqual({ error: 'the request (headers and body) was not received within 300 ms' });
    expect(await service.close()).toBe(true);
  });

  it('do not hold up close(): connections still open after the shutdown timeout are destroyed', async () => {
    const arrived = countdown(1);
    const limits = { requestTimeoutMs: 3_600_000, shutdownTimeoutMs: 200 }; // the request timeout never helps here
    const { service, port } = await listen(new GatedScorer(), limits, ({ app }) => {
      // onRequest: the headers are in, the body is not.
      app.addHook('onRequest', (_request, _reply, done) => {
        arrived.tick();
        done();
      });
    });
    const client = stalledUpload(port);
    const socketClosed = once(client.socket, 'close');
    await arrived.done;
    expect(await service.close()).toBe(false); // resolves although the client is still connected and silent
    await socketClosed;
    expect(client.socket.destroyed).toBe(true);
  });
});

/** Sends raw bytes on a connection of its own; resolves with everything received once the server closes it. */
async function exchange(port: number, bytes: string): Promise<{ status: number; body: unknown }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined); // the server may reset after answering
  socket.write(bytes);
  await once(socket, 'close');
  const [head, body] = received.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d+) /.exec(head ?? '')?.[1]), body: JSON.parse(body ?? 'null') };
}

const counted = (metrics: string, route: string, status: string) =>
  Number(new RegExp(`esm2_scorer_requests_total\\{route="${route.replace(/\//g, '\\/')}",status="${status}"(?:,version="[^"]*")?\\} (\\d+)`).exec(metrics)?.[1] ?? 0);

describe('errors before a request, and clients that leave', () => {
  it('answers requests the HTTP parser refuses in the documented {"error"} shape, and counts them', async () => {
    const { service, port, url } = await listen(new GatedScorer());
    const garbage = await exchange(port, 'NOT AN HTTP REQUEST\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(garbage.body).toEqual({ error: expect.stringMatching(/^malformed HTTP request: .+ \(HPE_\w+\)$/) as string });
    const big = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'a'.repeat(maxHeaderSize)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(big.body).toEqual({ error: `the request headers are larger than the server's ${maxHeaderSize}-byte limit` });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(counted(metrics, 'unparsed', '400')).toBe(1);
    expect(counted(metrics, 'unparsed', '431')).toBe(1);
    expect(await service.close()).toBe(true);
  });

  it('counts a request whose client left before the answer under status 499', async () => {
    const scorer = new GatedScorer();
    const closed = countdown(1);
    const { service, port, url } = await listen(scorer, {}, ({ app }) =>
      // Registered after the service's own hook, so its listener runs after the request was counted.
      app.addHook('onRequest', (request, reply, done) => {
        if (request.url === '/v1/score') reply.raw.once('close', closed.tick);
        done();
      }),
    );
    const body = JSON.stringify({ rows: rows.slice(0, 2) });
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    client.write(`POST /v1/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await scorer.started(1); // the request is being scored
    client.destroy();
    await closed.done;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(counted(metrics, '/v1/score', '499')).toBe(1);
    expect(counted(metrics, '/v1/score', '200')).toBe(0);
    scorer.open();
    expect(await service.close()).toBe(true);
    // Answered after the client left, it is still counted once.
    const after = await service.metrics.registry.getSingleMetricAsString('esm2_scorer_requests_total');
    expect(counted(after, '/v1/score', '499')).toBe(1);
    expect(counted(after, '/v1/score', '200')).toBe(0);
  });
});
