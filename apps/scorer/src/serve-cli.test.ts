import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(300);
});
afterAll(() => fixture?.cleanup());

/** Servers a test started: one still running when the test ends (a failed assertion, a timeout) is killed, not left loading the machine. */
const children = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first text of the stream matching `pattern` (already printed or yet to come). */
  line: (pattern: RegExp, stream?: 'stdout' | 'stderr') => Promise<string>;
  exited: Promise<number | null>;
}

/** Starts `esm2-score serve` on a free port and waits for its "listening" line. */
const serve = (...flags: string[]) => serveUnder([], flags);

/** The same under `node NODE_ARGS`. */
async function serveUnder(nodeArgs: string[], flags: string[]): Promise<Served> {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', cli, 'serve', '--model', fixture.run, '--port', '0', '--workers', '1', ...flags]);
  children.add(child);
  const text = { stdout: '', stderr: '' };
  child.stderr.on('data', (d: Buffer) => (text.stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (text.stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout') =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(text[stream]);
        if (!m) return false;
        child[stream].off('data', check);
        resolve(m[0]);
        return true;
      };
      if (check()) return;
      child[stream].on('data', check);
      void exited.then((code) => reject(new Error(`exited ${code} before printing ${pattern}: ${text.stderr}`)));
    });
  // The last --workers given wins (the default '1' above, or the caller's).
  const onThread = flags[flags.lastIndexOf('--workers') + 1] === '0';
  const listening = await line(onThread ? / on http:\/\/127\.0\.0\.1:\d+ scoring on the HTTP thread/ : / on http:\/\/127\.0\.0\.1:\d+ with 1 worker/);
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(listening)![0];
  return { child, url, stdout: () => text.stdout, stderr: () => text.stderr, line, exited };
}

/**
 * A client that announces a 1000-byte body, sends 10 bytes and stalls.
 * Resolves once the server has logged the request (`--log-level info`):
 * only then is it in flight, before that a shutdown would just drop it.
 */
async function stalledUpload(served: Served): Promise<Socket> {
  const socket = connect(Number(new URL(served.url).port), '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write('POST /v1/score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"rows": [');
  await served.line(/"method":"POST","url":"\/v1\/score"[^\n]*"msg":"incoming request"/, 'stderr');
  return socket;
}

describe('esm2-score serve (CLI)', () => {
  it('serves the artifact on a free port and exits 0 on SIGTERM within the shutdown timeout, even with a stalled client', async () => {
    const served = await serve('--shutdown-timeout-ms', '300', '--request-timeout-ms', '3600000', '--log-level', 'info');
    expect(served.stdout()).toMatch(/esm2-score: esm2 sha256:[0-9a-f]{16} \(pctr, pctavr, pcvr, pctcvr\)/);
    const res = await fetch(`${served.url}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: requestRows(csvRows(fixture.csv)).slice(0, 3) }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { predictions: unknown[] }).predictions).toHaveLength(3);
    // This client would hold the server open until it left (the request timeout is an hour).
    const stalled = await stalledUpload(served);
    const cut = once(stalled, 'close');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    await cut;
    expect(served.stdout()).toMatch(/SIGTERM, finishing in-flight requests \(at most 300 ms\)/);
  });

  it('--workers 0 scores on the HTTP thread: /healthz says 0 workers, the same scores, and a clean SIGTERM', async () => {
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 20);
    const scores = async (served: Served) => {
      const res = await fetch(`${served.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { predictions: Record<string, number>[] }).predictions;
    };
    const [onThread, worker] = [await serve('--workers', '0', '--shutdown-timeout-ms', '300', '--request-timeout-ms', '3600000', '--log-level', 'info'), await serve()];
    expect(await (await fetch(`${onThread.url}/healthz`)).json()).toMatchObject({ status: 'ok', workers: 0 });
    expect(await (await fetch(`${worker.url}/healthz`)).json()).toMatchObject({ status: 'ok', workers: 1 });
    const got = await scores(onThread);
    expect(got).toHaveLength(20);
    expect(got).toEqual(await scores(worker));
    const stalled = await stalledUpload(onThread);
    const cut = once(stalled, 'close');
    onThread.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await onThread.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    await cut;
  });

  it('starts its worker threads under node options a worker cannot be given (V8 and per-process ones)', async () => {
    // Passed on to the workers explicitly, each of these made them refuse to start (ERR_WORKER_INVALID_EXEC_ARGV).
    const served = await serveUnder(['--max-old-space-size=1024', '--single-threaded-gc'], []);
    const res = await fetch(`${served.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: requestRows(csvRows(fixture.csv)).slice(0, 2) }) });
    expect(res.status).toBe(200);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });

  it('exits at once, non-zero, on a second signal during shutdown', async () => {
    const served = await serve('--shutdown-timeout-ms', '120000', '--request-timeout-ms', '3600000', '--log-level', 'info');
    const stalled = await stalledUpload(served); // keeps the graceful shutdown waiting
    served.child.kill('SIGTERM');
    await served.line(/SIGTERM, finishing in-flight requests/);
    served.child.kill('SIGINT');
    expect(await served.exited).toBe(1);
    expect(served.stderr()).toMatch(/second SIGINT, exiting without waiting/);
    stalled.destroy();
  });
});
