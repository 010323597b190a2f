import { beforeAll, describe, expect, it } from 'vitest';
import { interpret } from '../ir/interpret.js';
import { decomposeComposites } from '../ops/decompose.js';
import { PRIMITIVE_OPS } from '../ops/index.js';
import { OP_NAMES, type Graph, type OpName } from '../ir/types.js';
import type { GraphCompiler } from '../train/compiler.js';
import { conformanceCases, opsNotExercised, runConformance, type ConformanceCase } from './index.js';

/**
 * A backend built only from the spec: the graph handed over is evaluated by
 * core's interpreter and its results rounded to f32, as a backend returns
 * them. Nothing else of core is used.
 */
const specCompiler: GraphCompiler = (graph) =>
  Promise.resolve({
    run: (feeds, outputs, into) => {
      const out = interpret(graph, new Map(), feeds, { outputs });
      return Promise.resolve(
        Object.fromEntries(
          outputs.map((o) => {
            const values = Float32Array.from(out[o]!.data);
            const target = into?.[o];
            if (target) target.set(values);
            return [o, target ?? values];
          }),
        ),
      );
    },
  });

runConformance({ name: 'the interpreter as a backend', compile: specCompiler }, { test: { describe, it, beforeAll } });

/**
 * A backend that lowers the primitives only: every composite op is left to
 * core's decomposeComposites, and the runner refuses any op outside
 * PRIMITIVE_OPS — the smallest backend the spec allows passes the suite.
 */
const primitives = new Set<OpName>(PRIMITIVE_OPS);
const primitivesOnlyCompiler: GraphCompiler = (graph) => {
  const lowered = decomposeComposites(graph, new Set());
  const stray = lowered.nodes.find((n) => !primitives.has(n.op));
  if (stray) return Promise.reject(new Error(`composite op ${stray.op} (node ${stray.id}) reached a primitives-only backend`));
  return specCompiler(lowered);
};

runConformance({ name: 'the interpreter lowering the primitives only', compile: primitivesOnlyCompiler }, { test: { describe, it, beforeAll } });

/** The graph with every f32 result of `op` shifted by `delta` (each such node's value renamed, then `+ delta` under its old id). */
function perturbed(graph: Graph, op: OpName, delta: number): { graph: Graph; hit: number } {
  const nodes: Graph['nodes'] = [];
  let hit = 0;
  for (const node of graph.nodes) {
    if (node.op !== op || node.type.dtype !== 'f32') {
      nodes.push(node);
      continue;
    }
    hit++;
    const raw = `${node.id}/raw`;
    const shift = `${node.id}/shift`;
    nodes.push({ ...node, id: raw });
    nodes.push({ id: shift, op: 'constant', inputs: [], attrs: { value: delta }, type: { dtype: 'f32', shape: [] } });
    nodes.push({ id: node.id, op: 'add', inputs: [raw, shift], attrs: {}, type: node.type });
  }
  return { graph: { ...graph, nodes }, hit };
}

/** specCompiler with `op` broken: its every f32 result off by 1e-3. */
const brokenCompiler =
  (op: OpName): GraphCompiler =>
  (graph) =>
    specCompiler(perturbed(graph, op, 1e-3).graph);

/** The first case running `op` (with an f32 result) that reports the broken compiler, or undefined when none does. */
async function caseCatching(cases: ConformanceCase[], op: OpName): Promise<{ name: string; problems: string[] } | undefined> {
  for (const c of cases.filter((c) => c.ops.has(op))) {
    const problems = await c.run(brokenCompiler(op)).catch((e: unknown) => [String(e)]);
    if (problems.length > 0) return { name: `${c.part}: ${c.name}`, problems };
  }
  return undefined;
}

describe('the conformance suite can fail', () => {
  const forward = conformanceCases({ parts: ['forward', 'gradients'] });
  const f32Ops = OP_NAMES.filter((op) => op !== 'constant');

  it('its forward and gradient cases alone run every op', () => {
    expect(opsNotExercised(forward)).toEqual([]);
  });

  it.each(f32Ops)('a compiler whose %s is off by 1e-3 fails a forward or gradient case', async (op) => {
    const caught = await caseCatching(forward, op);
    expect(caught, `no case caught a broken ${op}`).toBeDefined();
  });

  it('a compiler whose constant is off fails (constants feed eps, bce clips and the optimizer)', async () => {
    expect(await caseCatching(forward, 'constant')).toBeDefined();
  });

  it('a compiler whose sqrt is off by 1e-3 fails the training cases (Adam runs through it)', async () => {
    const training = conformanceCases({ parts: ['training'], models: ['esm2'], interactions: ['none'] });
    const problems = await training[0]!.run(brokenCompiler('sqrt'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/after step 1: .* the interpreter's/);
  });
});

/** A test runner that records what runConformance registers, to run it by hand. */
function recordingRunner() {
  const tests: { name: string; body: () => void | Promise<void>; skipped: boolean }[] = [];
  const hooks: (() => Promise<void>)[] = [];
  const path: string[] = [];
  const it = Object.assign((name: string, body: () => void | Promise<void>) => void tests.push({ name: [...path, name].join(' > '), body, skipped: false }), {
    skip: (name: string, body: () => void) => void tests.push({ name: [...path, name].join(' > '), body, skipped: true }),
  });
  const describe = (name: string, body: () => void) => {
    path.push(name);
    body();
    path.pop();
  };
  return { tests, hooks, test: { describe, it, beforeAll: (body: () => Promise<void>) => void hooks.push(body) } };
}

describe('runConformance', () => {
  it('registers a failing test, naming the op and the interpreter, for a compiler with one op broken', async () => {
    const runner = recordingRunner();
    runConformance({ name: 'broken tanh', compile: brokenCompiler('tanh') }, { test: runner.test, parts: ['forward', 'gradients'], models: ['esmm'] });
    for (const hook of runner.hooks) await hook();
    const failed: string[] = [];
    for (const t of runner.tests) await (async () => t.body())().catch((e: unknown) => failed.push(`${t.name}: ${(e as Error).message}`));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((f) => f.includes('broken tanh differs from the interpreter'))).toBe(true);
    // The coverage test passes: a broken op is not a missing one.
    expect(failed.some((f) => f.includes('OP_NAMES'))).toBe(false);
  });

  it('registers every part as skipped, with the reason, for a skipped target', () => {
    const runner = recordingRunner();
    runConformance({ name: 'absent', compile: specCompiler, skip: 'no such runtime here' }, { test: runner.test });
    expect(runner.tests.map((t) => [t.name, t.skipped])).toEqual(
      ['forward', 'gradients', 'training'].map((part) => [`conformance of absent > ${part} (skipped: no such runtime here)`, true]),
    );
    expect(runner.hooks).toEqual([]);
  });

  it('fails the coverage test when a subset leaves an op out', async () => {
    const runner = recordingRunner();
    runConformance({ name: 'subset', compile: specCompiler }, { test: runner.test, parts: ['gradients'], models: ['esm2'], interactions: ['none'] });
    const coverage = runner.tests.find((t) => t.name.endsWith('run every op of OP_NAMES through the compiler'))!;
    expect(() => coverage.body()).toThrow(/no case runs .*sqrt/);
  });

  it('without a runner handed over or global, says how to call it', () => {
    expect(() => runConformance({ name: 'x', compile: specCompiler })).toThrow(/pass \{ test: \{ describe, it, beforeAll \} \} as vitest exports them/);
  });
});
