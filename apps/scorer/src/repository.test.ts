import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import type { ScoringModel } from './model.js';
import { inputSpecs, type InputSpec } from './open-inference.js';
import { ModelRepository, type Switched } from './repository.js';
import { Scorer } from './scorer.js';
import { buildService, type Service, type VersionState } from './server.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { GatedScorer } from './test-support/gated-scorer.js';
import { writeModelVersion } from './test-support/repository.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let rows: Record<string, unknown>[];
let repoCount = 0;

beforeAll(async () => {
  fixture = await makeFixture(300);
  rows = requestRows(csvRows(fixture.csv));
});
afterAll(() => fixture?.cleanup());

/** Managers and services a test started, closed when it ends (also when it fails). */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A fresh repository holding versions `seeds[0]` → 1, `seeds[1]` → 2, … (each a different initialisation). */
async function repository(seeds: number[]): Promise<{ dir: string; files: string[] }> {
  const dir = join(fixture.dir, `repo-${++repoCount}`);
  const files: string[] = [];
  for (const [i, seed] of seeds.entries()) files.push((await writeModelVersion(fixture.encoders, dir, i + 1, seed)).file);
  return { dir, files };
}

/** The repository served over HTTP on a free port. */
async function serveRepository(manager: ModelRepository): Promise<{ service: Service; url: string }> {
  const service = buildService({ versions: manager.versions, repository: manager });
  const url = await service.app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => manager.close(), () => service.close());
  return { service, url };
}

type ScoreBody = { model_version?: string; modelVersion?: string; predictions?: Record<string, number>[]; error?: string };
type InferBody = { model_version?: string; outputs?: { name: string; data: number[] }[]; error?: string };

async function score(url: string, some: Record<string, unknown>[]): Promise<{ status: number; json: ScoreBody }> {
  const res = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: some }) });
  return { status: res.status, json: (await res.json()) as ScoreBody };
}

/** Rows as /v2 JSON tensors. */
function tensors(specs: readonly InputSpec[], some: Record<string, unknown>[]) {
  return specs.map((s) => ({ name: s.name, shape: [some.length], datatype: s.datatype, data: some.map((r) => (s.datatype === 'FP32' ? r[s.column] : String(r[s.column]))) }));
}

async function post(url: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}

async function index(url: string): Promise<VersionState[]> {
  const { status, text } = await post(url, '/v2/repository/index');
  expect(status).toBe(200);
  return JSON.parse(text) as VersionState[];
}

const states = (list: VersionState[]) => Object.fromEntries(list.map((s) => [s.version, s.state]));

/** Scores of `some` by the version in `file`, through the Scorer library (onnxruntime on this thread). */
const references = new Map<string, Scorer>();
async function reference(file: string, some: Record<string, unknown>[]): Promise<Record<string, number>[]> {
  let scorer = references.get(file);
  if (!scorer) references.set(file, (scorer = await Scorer.load(file)));
  return scorer.score(some);
}
afterAll(async () => {
  for (const s of references.values()) await s.close();
});

/**
 * A scorer per version that answers through a LocalScorer behind a gate
 * (open unless a test holds it), and records which versions were closed.
 */
function gatedScorers() {
  const gates = new Map<string, GatedScorer>();
  const closed: string[] = [];
  const factory = async (model: ScoringModel) => {
    const local = await LocalScorer.create(model);
    const gate = new GatedScorer((feeds, outputs) => local.score(feeds, outputs));
    gate.open();
    gates.set(model.version, gate);
    return Object.assign(gate, {
      close: async () => {
        closed.push(model.version);
        await local.close();
      },
    });
  };
  return { gates, closed, factory };
}

describe('serve --model-repository: hot swap', () => {
  it('swaps versions under concurrent requests with no failure; every answer names its version and equals that version scored directly', async () => {
    const repo = await repository([11]);
    const manager = await ModelRepository.open({ repository: repo.dir, workers: 1 });
    const { url } = await serveRepository(manager);
    expect(manager.serving).toBe('1');
    const specs = inputSpecs(manager.versions.current!.model);

    // Clients loop until stopped: even ones POST /v1/score, odd ones /v2/models/esm2/infer, 20 rows a request.
    type Result = { version: string; start: number; scores: Record<string, number>[] };
    const results: Result[] = [];
    const failures: string[] = [];
    const waits: { version: string; count: number; resolve: () => void }[] = [];
    const seen = (version: string) => results.filter((r) => r.version === version).length;
    const record = (r: Result) => {
      results.push(r);
      for (const w of waits.filter((x) => seen(x.version) >= x.count)) {
        waits.splice(waits.indexOf(w), 1);
        w.resolve();
      }
    };
    /** Resolves once `count` answers came from `version`. */
    const answersFrom = (version: string, count: number) => new Promise<void>((resolve) => (seen(version) >= count ? resolve() : waits.push({ version, count, resolve })));
    let stop = false;
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        const start = ((k * 31 + i * 7) % 12) * 20;
        const some = rows.slice(start, start + 20);
        if (k % 2 === 0) {
          const { status, json } = await score(url, some);
          if (status !== 200) failures.push(`${status} ${json.error}`);
          else record({ version: json.model_version!, start, scores: json.predictions! });
        } else {
          const res = await fetch(`${url}/v2/models/esm2/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: tensors(specs, some) }) });
          const json = (await res.json()) as InferBody;
          if (res.status !== 200) failures.push(`${res.status} ${json.error}`);
          else record({ version: json.model_version!, start, scores: some.map((_, r) => Object.fromEntries(json.outputs!.map((o) => [o.name, o.data[r]!]))) });
        }
      }
    };
    const clients = Array.from({ length: 6 }, (_, k) => client(k));

    await answersFrom('1', 10);
    // A new version found by a poll, then one loaded through the route.
    const v2 = await writeModelVersion(fixture.encoders, repo.dir, 2, 12);
    const polled = await manager.poll();
    expect(polled).toMatchObject({ version: '2', previous: '1' });
    await polled!.retired; // version 1 finished the requests it took, and its sessions are released
    await answersFrom('2', 10);
    const v3 = await writeModelVersion(fixture.encoders, repo.dir, 3, 13);
    expect((await post(url, '/v2/repository/models/esm2/load')).status).toBe(200);
    expect(manager.serving).toBe('3');
    await answersFrom('3', 10);
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    const files: Record<string, string> = { 1: repo.files[0]!, 2: v2.file, 3: v3.file };
    expect(new Set(results.map((r) => r.version))).toEqual(new Set(['1', '2', '3']));
    const expected = new Map<string, Record<string, number>[]>();
    for (const r of results) {
      const key = `${r.version}@${r.start}`;
      if (!expected.has(key)) expected.set(key, await reference(files[r.version]!, rows.slice(r.start, r.start + 20)));
      expect(r.scores, key).toEqual(expected.get(key));
    }
    // The versions really differ: an answer names the version that computed it, not just any.
    expect(await reference(files[1]!, rows.slice(0, 20))).not.toEqual(await reference(files[2]!, rows.slice(0, 20)));
    expect(states(await index(url))).toEqual({ 1: 'UNAVAILABLE', 2: 'UNAVAILABLE', 3: 'READY' });

    // /metrics: series by version, the version serving, and the loads.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const v of ['1', '2', '3']) expect(metrics).toMatch(new RegExp(`esm2_scorer_requests_total\\{route="/v1/score",status="200",version="${v}"\\} [1-9]`));
    expect(metrics).toContain('esm2_scorer_model_version_serving{version="3"} 1');
    expect(metrics).not.toContain('esm2_scorer_model_version_serving{version="1"}');
    expect(metrics).toContain('esm2_scorer_model_loads_total{version="2",result="loaded"} 1');
  });

  it('finishes an in-flight request on the version that took it; that version is closed only after it', async () => {
    const repo = await repository([21]);
    const { gates, closed, factory } = gatedScorers();
    const manager = await ModelRepository.open({ repository: repo.dir, scorer: factory });
    const { url } = await serveRepository(manager);
    const some = rows.slice(0, 5);

    const gate1 = gates.get('1')!;
    gate1.hold();
    const runs = gate1.runs.length;
    const held = score(url, some);
    await gate1.started(runs + 1); // the request is being scored by version 1

    const v2 = await writeModelVersion(fixture.encoders, repo.dir, 2, 22);
    const switched = (await manager.load('2'))!;
    expect(switched).toMatchObject({ version: '2', previous: '1' });
    let retired = false;
    void switched.retired.then(() => (retired = true));
    // New requests go to version 2 while version 1 still holds the first one.
    const after = await score(url, some);
    expect(after.json.model_version).toBe('2');
    expect(after.json.predictions).toEqual(await reference(v2.file, some));
    expect(states(await index(url))).toEqual({ 1: 'UNLOADING', 2: 'READY' });
    expect(retired).toBe(false);
    expect(closed).toEqual([]);

    gate1.open();
    const first = await held;
    expect(first.status).toBe(200);
    expect(first.json.model_version).toBe('1');
    expect(first.json.predictions).toEqual(await reference(repo.files[0]!, some));
    await switched.retired;
    expect(closed).toEqual(['1']);
    const list = await index(url);
    expect(list.find((s) => s.version === '1')).toEqual({ name: 'esm2', version: '1', state: 'UNAVAILABLE', reason: 'replaced by version 2' });
  });

  it('refuses a broken new version (not ONNX; a weight changed after export) and keeps serving the old one', async () => {
    const repo = await repository([31]);
    const logged: string[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (_o: object, m: string) => logged.push(m) };
    const manager = await ModelRepository.open({ repository: repo.dir, workers: 1, logger });
    const { url } = await serveRepository(manager);
    const refused: string[] = [];
    manager.on('refused', ({ version }: { version: string }) => refused.push(version));

    // Version 2: not an ONNX model at all.
    await mkdir(join(repo.dir, 'esm2', '2'));
    await writeFile(join(repo.dir, 'esm2', '2', 'model.onnx'), 'not an onnx model');
    expect(await manager.poll()).toBeUndefined();
    expect(manager.serving).toBe('1');
    // Version 3: a real export with one flipped bit in its largest weight.
    const v3 = await writeModelVersion(fixture.encoders, repo.dir, 3, 33);
    const bytes = await readFile(v3.file);
    const w = [...v3.artifact.weights.values()].sort((a, b) => b.length - a.length)[0]!;
    const at = bytes.indexOf(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
    expect(at).toBeGreaterThanOrEqual(0);
    bytes[at + 9]! ^= 0x01;
    await writeFile(v3.file, bytes);
    expect(await manager.poll()).toBeUndefined();

    expect(refused).toEqual(['2', '3']);
    expect(manager.serving).toBe('1');
    expect(logged.join('\n')).toMatch(/version 3 refused \(poll\): .*3\/model\.onnx is corrupt: its content checksum sha256 [0-9a-f]{64} does not match.*; version 1 keeps serving/);
    expect(logged.join('\n')).toMatch(/version 2 refused \(poll\): .*2\/model\.onnx is not a readable ONNX model/);
    const answer = await score(url, rows.slice(0, 3));
    expect(answer.status).toBe(200);
    expect(answer.json.model_version).toBe('1');
    expect(answer.json.predictions).toEqual(await reference(repo.files[0]!, rows.slice(0, 3)));
    const list = await index(url);
    expect(states(list)).toEqual({ 1: 'READY', 2: 'UNAVAILABLE', 3: 'UNAVAILABLE' });
    expect(list.find((s) => s.version === '3')!.reason).toMatch(/^refused: .*is corrupt/);
    // A refused version is not tried again by polling until its files change; a load naming it is refused with 400.
    expect(await manager.poll()).toBeUndefined();
    expect(refused).toEqual(['2', '3']);
    const load = await post(url, '/v2/repository/models/esm2/load', { parameters: { version: '3' } });
    expect(load.status).toBe(400);
    expect(JSON.parse(load.text)).toEqual({ error: expect.stringMatching(/version 3 of 'esm2' was refused: .*is corrupt.*; version 1 keeps serving/) as unknown });
    expect(manager.serving).toBe('1');
    // Fixed in place (the file rewritten whole): the next poll takes it.
    const good = await writeModelVersion(fixture.encoders, join(fixture.dir, `scratch-${++repoCount}`), 1, 33);
    await writeFile(v3.file, await readFile(good.file));
    expect(await manager.poll()).toMatchObject({ version: '3', previous: '1' });
    expect((await score(url, rows.slice(0, 3))).json.model_version).toBe('3');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('esm2_scorer_model_loads_total{version="3",result="refused"} 2');
    expect(metrics).toContain('esm2_scorer_model_loads_total{version="3",result="loaded"} 1');
  });

  it('polls: a new highest version is loaded, nothing new is nothing, a lower new version is not', async () => {
    const repo = await repository([41, 42]);
    const { factory } = gatedScorers();
    // A version's scorer can be held back (the test releases it), to see the version LOADING.
    let hold: { reached: () => void; released: Promise<void> } | undefined;
    const manager = await ModelRepository.open({
      repository: repo.dir,
      scorer: async (model) => {
        if (hold) {
          hold.reached();
          await hold.released;
        }
        return factory(model);
      },
    });
    expect(manager.serving).toBe('2'); // the highest at start
    expect(await manager.poll()).toBeUndefined();
    await writeModelVersion(fixture.encoders, repo.dir, 5, 45);
    const serving = once(manager, 'serving') as Promise<[Switched]>;
    expect(await manager.poll()).toMatchObject({ version: '5', previous: '2' });
    expect((await serving)[0].version).toBe('5');
    await writeModelVersion(fixture.encoders, repo.dir, 4, 44);
    expect(await manager.poll()).toBeUndefined();
    expect(manager.serving).toBe('5');
    // While a version loads, the index says so and the old one serves.
    let release!: () => void;
    const reached = new Promise<void>((resolve) => {
      hold = { reached: resolve, released: new Promise<void>((r) => (release = r)) };
    });
    await writeModelVersion(fixture.encoders, repo.dir, 6, 46);
    const polled = manager.poll();
    await reached;
    expect(states(await manager.index())).toEqual({ 1: 'UNAVAILABLE', 2: 'UNAVAILABLE', 4: 'UNAVAILABLE', 5: 'READY', 6: 'LOADING' });
    hold = undefined;
    release();
    expect(await polled).toMatchObject({ version: '6', previous: '5' });
    await manager.close();
  });

  it('unload of the version serving rolls back to the newest other one; polling does not bring it back, a load naming it does', async () => {
    const repo = await repository([51, 52, 53]);
    const { factory, closed } = gatedScorers();
    const manager = await ModelRepository.open({ repository: repo.dir, scorer: factory });
    const { url } = await serveRepository(manager);
    expect(manager.serving).toBe('3');

    const closed3 = once(manager, 'closed');
    const unload3 = await post(url, '/v2/repository/models/esm2/unload', { parameters: { version: '3' } });
    expect(unload3).toEqual({ status: 200, text: '' });
    expect(manager.serving).toBe('2');
    expect((await score(url, rows.slice(0, 2))).json.model_version).toBe('2');
    let list = await index(url);
    expect(states(list)).toEqual({ 1: 'UNAVAILABLE', 2: 'READY', 3: expect.stringMatching(/UNLOADING|UNAVAILABLE/) as unknown });
    // Polling and a load without a version leave it unloaded.
    expect(await manager.poll()).toBeUndefined();
    expect((await post(url, '/v2/repository/models/esm2/load')).status).toBe(200);
    expect(manager.serving).toBe('2');
    list = await index(url);
    expect(list.find((s) => s.version === '3')).toEqual({ name: 'esm2', version: '3', state: 'UNAVAILABLE', reason: 'unloaded by request; a load naming this version loads it again' });
    expect(await closed3).toEqual(['3']);
    expect(closed).toEqual(['3']);
    // A load naming it serves it again.
    expect((await post(url, '/v2/repository/models/esm2/load', { parameters: { version: 3 } })).status).toBe(200);
    expect(manager.serving).toBe('3');
    // Pinning an older version: load naming 1.
    expect((await post(url, '/v2/repository/models/esm2/load', { parameters: { version: '1' } })).status).toBe(200);
    expect((await score(url, rows.slice(0, 2))).json.model_version).toBe('1');
    expect(await index(url).then((l) => l.filter((s) => s.state === 'READY').map((s) => s.version))).toEqual(['1']);
    const readyOnly = await post(url, '/v2/repository/index', { ready: true });
    expect(JSON.parse(readyOnly.text)).toEqual([{ name: 'esm2', version: '1', state: 'READY', reason: '' }]);
  });

  it('unload with no version stops serving (503) until a load; the last version left cannot be unloaded alone', async () => {
    const repo = await repository([61]);
    const { factory } = gatedScorers();
    const manager = await ModelRepository.open({ repository: repo.dir, scorer: factory });
    const { url } = await serveRepository(manager);

    const alone = await post(url, '/v2/repository/models/esm2/unload', { parameters: { version: '1' } });
    expect(alone.status).toBe(409);
    expect((JSON.parse(alone.text) as { error: string }).error).toMatch(/cannot unload version 1 of 'esm2': no other version to fall back to; it keeps serving/);
    expect(manager.serving).toBe('1');

    expect((await post(url, '/v2/repository/models/esm2/unload')).status).toBe(200);
    const refused = await score(url, rows.slice(0, 2));
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatch(/model 'esm2' is not available: unloaded by request/);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${url}/v2/models/esm2/ready`)).status).toBe(400);
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    expect(states(await index(url))).toEqual({ 1: 'UNAVAILABLE' });
    // Polling loads nothing while the model is unloaded, even a new version.
    await writeModelVersion(fixture.encoders, repo.dir, 2, 62);
    expect(await manager.poll()).toBeUndefined();
    expect((await post(url, '/v2/repository/models/esm2/load')).status).toBe(200);
    expect((await score(url, rows.slice(0, 2))).json.model_version).toBe('2');
  });

  it('answers the repository routes\' mistakes with {"error"}: unknown model 404, unknown version 404, bad parameters 400', async () => {
    const repo = await repository([71]);
    const { factory } = gatedScorers();
    const manager = await ModelRepository.open({ repository: repo.dir, scorer: factory });
    const { url } = await serveRepository(manager);
    const cases: [string, unknown, number, RegExp][] = [
      ['/v2/repository/models/other/load', undefined, 404, /unknown model 'other': this server serves 'esm2'/],
      ['/v2/repository/models/esm2/load', { parameters: { version: '9' } }, 404, /has no version 9: no directory .*esm2\/9/],
      ['/v2/repository/models/esm2/unload', { parameters: { version: '9' } }, 404, /has no version 9/],
      ['/v2/repository/models/esm2/load', { parameters: { version: 'latest' } }, 400, /parameter "version" must be a version number/],
      ['/v2/repository/models/esm2/load', { parameters: { config: '{}' } }, 400, /unsupported parameter\(s\) 'config'/],
      ['/v2/repository/models/esm2/load', { version: '1' }, 400, /unknown key\(s\) 'version'; expected "parameters"/],
      ['/v2/repository/index', { ready: 'yes' }, 400, /"ready" must be true or false/],
    ];
    for (const [path, body, status, error] of cases) {
      const res = await post(url, path, body);
      expect(res.status, path).toBe(status);
      expect((JSON.parse(res.text) as { error: string }).error, path).toMatch(error);
    }
    expect(manager.serving).toBe('1');
  });

  it('loads versions into its one worker pool: a swap starts no thread, a replaced or refused version is released in every worker, a thread that died is replaced with the version serving loaded', async () => {
    const repo = await repository([101]);
    const manager = await ModelRepository.open({ repository: repo.dir, workers: 2 });
    const { url } = await serveRepository(manager);
    const pool = manager.pool!;
    const threads = pool.threadIds.sort((a, b) => a - b);
    expect(threads).toHaveLength(2);
    /** The versions each worker holds, by its own account (a task run in every worker). */
    const held = async () => {
      const replies = await pool.status();
      return replies.map((r) => ({ threadId: r.threadId, versions: r.loaded.map((key) => key.split('#')[0]) })).sort((a, b) => a.threadId - b.threadId);
    };
    const everyWorkerHolds = (versions: string[]) => threads.map((threadId) => ({ threadId, versions }));
    expect(await held()).toEqual(everyWorkerHolds(['1']));
    /** Concurrent requests (both workers answer), each checked against the version it names, scored directly. */
    const answersFrom = async (version: string, file: string) => {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, k) => score(url, rows.slice(k * 20, k * 20 + 20))));
      for (const [k, a] of answers.entries()) {
        expect(a.status).toBe(200);
        expect(a.json.model_version).toBe(version);
        expect(a.json.predictions).toEqual(await reference(file, rows.slice(k * 20, k * 20 + 20)));
      }
    };
    await answersFrom('1', repo.files[0]!);

    // A swap: version 2 is loaded into the same threads; version 1, once closed, is released in each.
    const v2 = await writeModelVersion(fixture.encoders, repo.dir, 2, 102);
    const switched = (await manager.poll())!;
    expect(switched).toMatchObject({ version: '2', previous: '1' });
    await switched.retired;
    expect(await held()).toEqual(everyWorkerHolds(['2']));
    await answersFrom('2', v2.file);
    expect(pool.threadIds.sort((a, b) => a - b)).toEqual(threads);

    // A version that loads but fails its warm-up (every weight NaN) is refused and released in every worker.
    await writeModelVersion(fixture.encoders, repo.dir, 3, 103, { nanWeights: true });
    expect(await manager.poll()).toBeUndefined();
    expect(manager.serving).toBe('2');
    expect((await manager.index()).find((s) => s.version === '3')!.reason).toMatch(/^refused: warm-up: output '.*' is NaN, not a probability/);
    expect(await held()).toEqual(everyWorkerHolds(['2']));

    // A rollback loads version 1 again into the same threads (version 3 is refused again on the way).
    const rollback = (await manager.unload('2'))!;
    expect(rollback).toMatchObject({ version: '1', previous: '2' });
    await rollback.retired;
    expect(await held()).toEqual(everyWorkerHolds(['1']));
    await answersFrom('1', repo.files[0]!);
    expect(pool.threadIds.sort((a, b) => a - b)).toEqual(threads);

    // A worker thread that dies is replaced (by piscina), and the new thread loads the version serving.
    const piscina = (pool as unknown as { pool: Piscina }).pool;
    const created = once(piscina, 'workerCreate');
    await piscina.threads.find((t) => t.threadId === threads[0])!.terminate();
    await created;
    const now = pool.threadIds.sort((a, b) => a - b);
    expect(now).toHaveLength(2);
    expect(now).not.toContain(threads[0]);
    expect(await held()).toEqual(now.map((threadId) => ({ threadId, versions: ['1'] })));
    await answersFrom('1', repo.files[0]!);
  });

  it('refuses a repository it cannot serve, naming the path', async () => {
    const empty = join(fixture.dir, `repo-${++repoCount}`);
    await mkdir(empty);
    await expect(ModelRepository.open({ repository: empty })).rejects.toThrow(`--model-repository ${empty}: no model folder`);
    const two = await repository([81]);
    await writeModelVersion(fixture.encoders, two.dir, 1, 82, { name: 'other' });
    await expect(ModelRepository.open({ repository: two.dir })).rejects.toThrow(/holds 2 models \(esm2, other\); choose one with --model-name/);
    const broken = join(fixture.dir, `repo-${++repoCount}`);
    await mkdir(join(broken, 'esm2', '1'), { recursive: true });
    await writeFile(join(broken, 'esm2', 'config.pbtxt'), 'name: "esm2"\nplatform: "onnxruntime_onnx"\n');
    await writeFile(join(broken, 'esm2', '1', 'model.onnx'), 'garbage');
    await expect(ModelRepository.open({ repository: broken, name: 'esm2' })).rejects.toThrow(/esm2: no version could be served: version 1: .*model\.onnx is not a readable ONNX model/);
  });
});

describe('esm2-score serve --model-repository (CLI)', () => {
  const children = new Set<ChildProcessWithoutNullStreams>();
  afterEach(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
  });

  it.each([
    ['1', 'with 1 worker'],
    ['0', 'scoring on the HTTP thread'],
  ])('serves the highest version and picks up a new one by polling (--workers %s)', async (workers, how) => {
    const repo = await repository([91]);
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--model-repository', repo.dir, '--poll-seconds', '0.2', '--port', '0', '--workers', workers]);
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = once(child, 'exit');
    /** Resolves with the first match of `pattern` in stdout, printed already or yet to come. */
    const line = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stdout);
          if (!m) return false;
          child.stdout.off('data', check);
          resolve(m);
          return true;
        };
        if (check()) return;
        child.stdout.on('data', check); // after the listener that appends, so it sees the new text
        void exited.then(([code]) => reject(new Error(`exited ${String(code)} before printing ${pattern}: ${stderr}`)));
      });
    const listening = await line(new RegExp(`esm2 version 1 from .* on (http://127\\.0\\.0\\.1:\\d+) ${how}`));
    const url = listening[1]!;
    expect((await score(url, rows.slice(0, 2))).json.model_version).toBe('1');
    const v2 = await writeModelVersion(fixture.encoders, repo.dir, 2, 92);
    await line(/esm2 version 2 serving, replacing version 1/);
    const answer = await score(url, rows.slice(0, 2));
    expect(answer.json.model_version).toBe('2');
    expect(answer.json.predictions).toEqual(await reference(v2.file, rows.slice(0, 2)));
    await line(/esm2 version 1 closed/);
    child.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
  });

  it('refuses --model with --model-repository, and --poll-seconds without it', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    for (const [flags, error] of [
      [['--model', fixture.onnx, '--model-repository', fixture.dir], /give --model or --model-repository, not both/],
      [['--model', fixture.onnx, '--poll-seconds', '5'], /--poll-seconds: only with --model-repository/],
      [[], /missing --model or --model-repository/],
    ] as const) {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--port', '0', ...flags]);
      children.add(child);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code, flags.join(' ')).toBe(1);
      expect(stderr).toMatch(error);
    }
  });
});
