import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE, OTHER, UNSAMPLED, categorise, profileReport, tally, type CallFrame } from './profile.js';

const frame = (functionName: string, url = ''): CallFrame => ({ functionName, url });
const src = (path: string) => `file:///work/esm2/${path}`;
const piscina = frame('atomicsWaitLoop', 'file:///work/esm2/node_modules/.pnpm/piscina@5.3.2/node_modules/piscina/dist/worker.js');
const backend = frame('', 'file:///work/esm2/node_modules/.pnpm/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/dist/backend.js');

describe('categorise (a stack, leaf first)', () => {
  it.each([
    ['V8 idle', [frame('(idle)'), frame('(root)')], IDLE],
    ['a worker waiting for a task', [frame('wait'), piscina], IDLE],
    ['GC', [frame('(garbage collector)'), frame('(root)')], 'GC'],
    ['the native run under backend.js', [backend, frame('processImmediate', 'node:internal/timers')], 'onnxruntime run (native)'],
    ['onnxruntime-common tensor JS', [frame('Tensor', 'file:///x/node_modules/onnxruntime-common/dist/esm/tensor-impl.js'), frame('toOrtTensor', src('packages/backend-onnx/src/runtime/session.ts'))], 'onnxruntime JS (tensors, checks)'],
    ['BigInt ids in OnnxSession.run', [frame('BigInt'), frame('toOrtTensor', src('packages/backend-onnx/src/runtime/session.ts'))], 'feeds → ort tensors (OnnxSession.run)'],
    ['JSON.parse under prepareRequest', [frame('parse'), frame('prepareRequest', src('apps/scorer/src/prepare.ts'))], 'parse (JSON.parse, UTF-8, binary tensors)'],
    ['a builtin counts where its caller does', [frame('from'), frame('answerRequest', src('apps/scorer/src/prepare.ts'))], 'response writing (stringify, floats)'],
    ['JSON.stringify', [frame('stringify'), frame('answerRequest', src('apps/scorer/src/prepare.ts'))], 'response writing (stringify, floats)'],
    ['a vocabulary lookup', [frame('id', src('packages/data/src/encode/vocabulary.ts')), frame('prepareRequest', src('apps/scorer/src/prepare.ts'))], 'encoding (@esm2/data encode, feeds)'],
    ['row checks', [frame('parseRows', src('apps/scorer/src/request.ts'))], 'validation (rows, tensors)'],
    ['column-wise writing into the run arrays', [frame('writeRequest', src('apps/scorer/src/prepare.ts')), frame('answerBatch', src('apps/scorer/src/prepare.ts'))], 'encoding (@esm2/data encode, feeds)'],
    ['a function of that name elsewhere is not', [frame('writeRequest', 'node:_http_client')], 'HTTP (node:http, net, streams, fastify)'],
    ['postMessage', [frame('postMessage'), frame('run', 'file:///x/node_modules/piscina/dist/worker.js')], 'hand-off (piscina, postMessage, clone)'],
    ['writev under net', [frame('writev'), frame('writevGeneric', 'node:internal/stream_base_commons')], 'HTTP (node:http, net, streams, fastify)'],
    ['fastify routing', [frame('lookup', 'file:///x/node_modules/find-my-way/index.js')], 'HTTP (node:http, net, streams, fastify)'],
    ['prom-client', [frame('observe', 'file:///x/node_modules/prom-client/lib/histogram.js')], 'metrics'],
    ['anything else', [frame('compileSourceTextModule', 'node:internal/modules/esm/utils'), frame('(root)')], OTHER],
  ])('%s', (_name, stack, category) => {
    expect(categorise(stack)).toBe(category);
  });
});

describe('tally and profileReport', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'esm2-profile-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('leaves idle samples and samples outside the window out, and scales the shares to the measured CPU per row', async () => {
    // root → (idle); root → processImmediate → backend.js; root → prepareRequest → parse
    const nodes = [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('processImmediate', 'node:internal/timers'), children: [4] },
      { id: 4, callFrame: backend },
      { id: 5, callFrame: frame('prepareRequest', src('apps/scorer/src/prepare.ts')), children: [6] },
      { id: 6, callFrame: frame('parse') },
    ];
    // Samples every 100 µs from t = 1000 (a sample stands for the time to the next): the first (at 1000) is outside the window.
    const samples = [4, 2, 2, 4, 4, 4, 6, 2];
    const profile = { nodes, startTime: 900, endTime: 1800, samples, timeDeltas: samples.map(() => 100) };
    const file = join(dir, 'CPU.20261207.120000.42.0.001.cpuprofile');
    await writeFile(file, JSON.stringify(profile));

    const t = await tally([file], [1050, 2000]);
    expect(t.outside).toBe(1);
    expect(t.samples).toBe(7);
    expect(t.byCategory.get('onnxruntime run (native)')).toBe(300);
    expect(t.byCategory.get('parse (JSON.parse, UTF-8, binary tensors)')).toBe(100);
    // The last sample has no successor: it stands for no time.
    expect(t.byCategory.get(IDLE)).toBe(200);
    expect(t.main.get('onnxruntime run (native)')).toBe(300);

    // 400 µs of CPU samples: onnxruntime 3/4, parse 1/4 of a measured 8 µs/row.
    const report = await profileReport([file], { window: [1050, 2000], cpuUsPerRow: 8 });
    const line = (category: string) => report.split('\n').find((l) => l.startsWith(category))!;
    expect(line('onnxruntime run (native)')).toMatch(/75\.0%\s+6\.00\s+6\.00\s+0\.00$/);
    expect(line('parse (JSON.parse')).toMatch(/25\.0%\s+2\.00\s+2\.00\s+0\.00$/);
    expect(line('GC')).toMatch(/0\.0%\s+0\.00/);
    expect(report).not.toMatch(/^idle/m);
  });

  it("scales each thread group's samples to that group's measured CPU, and lists the threads no profile covers", async () => {
    // The main thread sampled parsing 3× as long as the worker ran onnxruntime: under load that says little of their CPU.
    const nodes = [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('parse'), children: [] },
      { id: 3, callFrame: backend },
    ];
    const main = join(dir, 'CPU.20261207.120000.43.0.001.cpuprofile');
    const worker = join(dir, 'CPU.20261207.120000.43.2.002.cpuprofile');
    await writeFile(main, JSON.stringify({ nodes, startTime: 0, endTime: 400, samples: [2, 2, 2, 2], timeDeltas: [100, 100, 100, 100] }));
    await writeFile(worker, JSON.stringify({ nodes, startTime: 0, endTime: 200, samples: [3, 3], timeDeltas: [100, 100] }));
    const report = await profileReport([main, worker], { threads: { main: 2, workers: 6, rest: 1 }, load: '  1.0' });
    const line = (category: string) => report.split('\n').find((l) => l.startsWith(category))!;
    expect(line('onnxruntime run (native)')).toMatch(/66\.7%\s+6\.00\s+0\.00\s+6\.00\s+1\.0$/);
    expect(line('parse (JSON.parse')).toMatch(/22\.2%\s+2\.00\s+2\.00\s+0\.00\s+1\.0$/);
    expect(line(UNSAMPLED)).toMatch(/11\.1%\s+1\.00/);
  });
});
