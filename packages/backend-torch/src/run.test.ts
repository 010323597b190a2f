import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildModel,
  grad,
  gradName,
  initWeights,
  interpret,
  MODEL_NAMES,
  OP_NAMES,
  paramTensors,
  type Graph,
  type HostTensor,
  type ModelConfigInput,
  type Weights,
} from '@esm2/core';
import { edgeOpsFeeds, edgeOpsGraph, randomFeeds, requires, smallSchema, worstError } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorchMissingError, TorchRunError } from './errors.js';
import { DEFAULT_PYTHON } from './python.js';
import { runTorchGraph, runTorchGraphs, torchInfo, type TorchResult, type TorchRun } from './run.js';

// Torch is Debian's python3-torch under /usr/bin/python3 (ESM2_PYTHON points elsewhere). Without it
// these tests skip, saying why; under CI=true (.ci/run installs python3-torch) they fail instead.
const info = await torchInfo().catch((e: unknown) => e as Error);
const torch = requires({ what: 'python3 with torch', missing: info instanceof TorchMissingError ? info.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

/** Every zoo model, ESM2 also with each feature interaction (dot needs one width: embeddingDim 3 = the 'item' field's). */
const VARIANTS: Record<string, ModelConfigInput> = {
  ...Object.fromEntries(MODEL_NAMES.map((model) => [model, { model, towers: [8, 4] }])),
  'esm2-dot': { model: 'esm2', towers: [4], interaction: 'dot', embeddingDim: 3, numericDim: 3 },
  'esm2-cross': { model: 'esm2', towers: [4], interaction: 'cross', crossLayers: 2 },
};

/** A batch of 6 whose multi-valued field has a row of padding only, a row with one id twice and padding before an id. */
function paddedFeeds(graph: Graph): Record<string, HostTensor> {
  const feeds = randomFeeds(graph, smallSchema(), 6, 99);
  feeds.tags = { shape: [6, 3], data: Int32Array.of(-1, -1, -1, 2, 2, -1, -1, 4, -1, 0, 1, 3, -1, -1, 1, 4, 4, 4) };
  return feeds;
}

interface Check {
  label: string;
  run: TorchRun;
  /** What torch must return, by output (or `grad/<param>` for autograd's gradients). */
  want: Record<string, HostTensor>;
  tolerance: number;
}

const checks: Check[] = [];
const ran = new Map<string, { ops: Set<string>; checks: Check[] }>();
const tensorsOf = (feeds: Record<string, HostTensor>, graph: Graph, weights: Weights): Record<string, HostTensor> => ({
  ...feeds,
  ...paramTensors(graph, weights),
});
function add(group: string, check: Check) {
  checks.push(check);
  const entry = ran.get(group) ?? { ops: new Set<string>(), checks: [] };
  for (const node of check.run.graph.nodes) entry.ops.add(node.op);
  entry.checks.push(check);
  ran.set(group, entry);
}

for (const [variant, config] of Object.entries(VARIANTS)) {
  const model = buildModel(smallSchema(), config);
  const { graph } = model;
  const weights = initWeights(graph, 7);
  const outputs = Object.keys(graph.outputs);
  const batches: [string, Record<string, HostTensor>][] = [
    ['batch 1', randomFeeds(graph, smallSchema(), 1, 3)],
    ['batch 37', randomFeeds(graph, smallSchema(), 37, 37)],
    ['padded batch', paddedFeeds(graph)],
  ];
  for (const [label, feeds] of batches) {
    add(`${variant} forward`, { label, run: { graph, tensors: tensorsOf(feeds, graph, weights), outputs }, want: interpret(graph, weights, feeds), tolerance: 1e-5 });
  }
  // Gradients two ways on the padded batch: torch's autograd of the forward graph, and core's gradient graph run by torch.
  const train = grad(graph);
  const params = graph.params.map((p) => p.name);
  const feeds = paddedFeeds(graph);
  const want = interpret(train, weights, feeds);
  add(`${variant} autograd`, {
    label: 'padded batch',
    run: { graph, tensors: tensorsOf(feeds, graph, weights), outputs: ['loss'], grads: { loss: 'loss', wrt: params } },
    want: Object.fromEntries([['loss', want.loss!], ...params.map((p) => [gradName(p), want[gradName(p)]!] as const)]),
    tolerance: 1e-5,
  });
  add(`${variant} gradient graph`, {
    label: 'padded batch',
    run: { graph: train, tensors: tensorsOf(feeds, train, weights), outputs: Object.keys(train.outputs) },
    want,
    tolerance: 1e-5,
  });
}
{
  const graph = edgeOpsGraph();
  const weights = initWeights(graph, 11);
  const outputs = Object.keys(graph.outputs);
  for (const [label, feeds, wanted] of [
    ['29 rows', edgeOpsFeeds(29, 34), outputs],
    ['one row', edgeOpsFeeds(1, 6), outputs],
    ['all weights zero', edgeOpsFeeds(9, 14, 'zero'), outputs],
    ['weights summing below zero', edgeOpsFeeds(9, 15, 'negative'), outputs],
    ['no rows (the mean of nothing is 0; [0, 4] with a scalar stays [0, 4])', edgeOpsFeeds(0, 1), outputs],
  ] as const) {
    const run = { graph, tensors: tensorsOf(feeds, graph, weights), outputs: [...wanted] };
    add('edge ops', { label, run, want: interpret(graph, weights, feeds, { outputs: run.outputs }), tolerance: 1e-5 });
  }
}

function expectMatches(check: Check, result: TorchResult) {
  const got = { ...result.outputs, ...Object.fromEntries(Object.entries(result.grads).map(([p, g]) => [gradName(p), g])) };
  expect(Object.keys(got).sort(), check.label).toEqual(Object.keys(check.want).sort());
  for (const [name, want] of Object.entries(check.want)) {
    const g = got[name]!;
    expect(g.shape, `${check.label}: ${name}`).toEqual(want.shape);
    expect(g.data instanceof Int32Array, `${check.label}: ${name} dtype`).toBe(want.data instanceof Int32Array);
    expect(worstError(g.data, want), `${check.label}: ${name}`).toBeLessThan(check.tolerance);
  }
}

describe.runIf(torch.run)('the torch lowering table', () => {
  beforeAll(torch.check);
  it('covers exactly the IR op set (OP_NAMES): an op missing or extra in python/esm2_torch/ops.py fails', () => {
    if (info instanceof Error) throw info;
    expect(info.ops).toEqual([...OP_NAMES].sort());
  });

  it('is exercised op by op: the graphs below run every op of OP_NAMES through torch', () => {
    const used = new Set([...ran.values()].flatMap((g) => [...g.ops]));
    expect([...OP_NAMES].filter((op) => !used.has(op))).toEqual([]);
  });
});

describe.runIf(torch.run)('torch equals the interpreter within 1e-5', () => {
  beforeAll(torch.check);
  /** Each check's result, from one python process for all of them. */
  let results: TorchResult[] = [];
  beforeAll(async () => {
    results = await runTorchGraphs(checks.map((c) => c.run));
  });

  for (const [group, { checks: groupChecks }] of ran) {
    it(`${group}: ${groupChecks.map((c) => c.label).join(', ')}`, () => {
      for (const check of groupChecks) expectMatches(check, results[checks.indexOf(check)]!);
    });
  }
});

describe.runIf(torch.run)('runTorchGraph', () => {
  beforeAll(torch.check);
  const graph = edgeOpsGraph();
  const weights = initWeights(graph, 11);
  let scratch = '';
  const savedTmp = process.env.TMPDIR;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'esm2-torch-test-'));
  });
  afterAll(async () => {
    process.env.TMPDIR = savedTmp;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    await rm(scratch, { recursive: true, force: true });
  });

  it('rejects an id outside its table naming the node and the id, and leaves no temporary files', async () => {
    const feeds = edgeOpsFeeds(3, 2);
    feeds.multi = { shape: [3, 3], data: Int32Array.of(0, 1, -1, 2, 9, -1, -1, -1, -1) };
    const node = graph.nodes.find((n) => n.op === 'pooledGather')!;
    process.env.TMPDIR = join(scratch, 'tmp');
    await rm(process.env.TMPDIR, { recursive: true, force: true });
    await mkdir(process.env.TMPDIR);
    const error = await runTorchGraph(graph, tensorsOf(feeds, graph, weights), ['pooledSum']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchRunError);
    expect((error as Error).message).toContain(`node ${node.id} (pooledGather): id 9 at row 1 is outside the table's 6 rows`);
    expect(await readdir(process.env.TMPDIR)).toEqual([]);
  });

  it('rejects with the signal\'s reason when aborted, leaving no temporary files', async () => {
    process.env.TMPDIR = join(scratch, 'tmp-abort');
    await mkdir(process.env.TMPDIR);
    const reason = new Error('stop');
    const error = await runTorchGraph(graph, tensorsOf(edgeOpsFeeds(2, 1), graph, weights), ['sum'], { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(await readdir(process.env.TMPDIR)).toEqual([]);
  });

  it('names the python and apt-get install python3-torch when torch cannot be imported (a python without site-packages)', async () => {
    const python = join(scratch, 'python-without-site');
    await writeFile(python, `#!/bin/sh\nexec ${DEFAULT_PYTHON} -S "$@"\n`);
    await chmod(python, 0o755);
    const error = await runTorchGraph(graph, {}, ['sum'], { python }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchMissingError);
    expect((error as Error).message).toContain(python);
    expect((error as Error).message).toContain('apt-get install python3-torch');
  });

  it('says which python could not be started', async () => {
    const python = join(scratch, 'no-such-python');
    const error = await torchInfo({ python }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchMissingError);
    expect((error as Error).message).toContain(`cannot run ${python} (ENOENT)`);
  });
});
