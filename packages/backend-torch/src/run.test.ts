import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, grad, gradName, initWeights, interpret, OP_NAMES, paramTensors, type HostTensor } from '@esm2/core';
import { paddedFeeds, TOLERANCES, zooCases } from '@esm2/core/conformance';
import { edgeOpsFeeds, edgeOpsGraph, requires, worstError } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorchMissingError, TorchRunError } from './errors.js';
import { DEFAULT_PYTHON } from './python.js';
import { runTorchGraph, runTorchGraphs, torchInfo, type TorchResult, type TorchRun } from './run.js';

// Torch is Debian's python3-torch under /usr/bin/python3 (ESM2_PYTHON points elsewhere). Without it
// these tests skip, saying why; under CI=true (.ci/run installs python3-torch) they fail instead.
const info = await torchInfo().catch((e: unknown) => e as Error);
const torch = requires({ what: 'python3 with torch', missing: info instanceof TorchMissingError ? info.message : undefined, install: 'apt-get install python3-torch, or ESM2_PYTHON naming a python with torch' });

interface Check {
  label: string;
  run: TorchRun;
  /** What torch must return: the loss and `grad/<param>` for autograd's gradients. */
  want: Record<string, HostTensor>;
}

// What torch's lowering computes (forward, core's gradient graphs, training steps) is the conformance
// suite's (src/conformance.test.ts). Here what only torch has: its autograd of the forward graph, on
// every generated zoo case's padded batch, against the interpreter's gradient graph.
const checks: Check[] = zooCases().map((zoo) => {
  const { graph } = buildModel(zoo.schema, zoo.config);
  const weights = initWeights(graph, 7);
  const feeds = paddedFeeds(graph, zoo.schema, 6, 99);
  const params = graph.params.map((p) => p.name);
  const want = interpret(grad(graph), weights, feeds);
  return {
    label: zoo.name,
    run: { graph, tensors: { ...feeds, ...paramTensors(graph, weights) }, outputs: ['loss'], grads: { loss: 'loss', wrt: params } },
    want: Object.fromEntries([['loss', want.loss!], ...params.map((p) => [gradName(p), want[gradName(p)]!] as const)]),
  };
});

function expectMatches(check: Check, result: TorchResult) {
  const got = { ...result.outputs, ...Object.fromEntries(Object.entries(result.grads).map(([p, g]) => [gradName(p), g])) };
  expect(Object.keys(got).sort(), check.label).toEqual(Object.keys(check.want).sort());
  for (const [name, want] of Object.entries(check.want)) {
    const g = got[name]!;
    expect(g.shape, `${check.label}: ${name}`).toEqual(want.shape);
    expect(worstError(g.data, want), `${check.label}: ${name}`).toBeLessThan(TOLERANCES.forward);
  }
}

describe.runIf(torch.run)('the torch lowering table', () => {
  beforeAll(torch.check);
  it('covers exactly the IR op set (OP_NAMES): an op missing or extra in python/esm2_torch/ops.py fails', () => {
    if (info instanceof Error) throw info;
    expect(info.ops).toEqual([...OP_NAMES].sort());
  });
});

describe.runIf(torch.run)(`torch.autograd of every zoo graph equals the interpreter's gradient graph within ${TOLERANCES.forward}`, () => {
  beforeAll(torch.check);
  /** Each check's result, from one python process for all of them. */
  let results: TorchResult[] = [];
  beforeAll(async () => {
    results = await runTorchGraphs(checks.map((c) => c.run));
  });

  for (const [k, check] of checks.entries()) {
    it(check.label, () => expectMatches(check, results[k]!));
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
    const error = await runTorchGraph(graph, { ...feeds, ...paramTensors(graph, weights) }, ['pooledSum']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorchRunError);
    expect((error as Error).message).toContain(`node ${node.id} (pooledGather): id 9 at row 1 is outside the table's 6 rows`);
    expect(await readdir(process.env.TMPDIR)).toEqual([]);
  });

  it('rejects with the signal\'s reason when aborted, leaving no temporary files', async () => {
    process.env.TMPDIR = join(scratch, 'tmp-abort');
    await mkdir(process.env.TMPDIR);
    const reason = new Error('stop');
    const error = await runTorchGraph(graph, { ...edgeOpsFeeds(2, 1), ...paramTensors(graph, weights) }, ['sum'], { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
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
