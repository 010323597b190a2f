import { describe, expect, it } from 'vitest';
import { interpret } from '../ir/interpret.js';
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

runConformance({ name: 'the interpreter as a backend', compile: specCompiler });

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
