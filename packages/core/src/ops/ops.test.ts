import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { interpret } from '../ir/interpret.js';
import { concreteShape, sizeOf } from '../ir/shape.js';
import type { HostTensor } from '../ir/tensor.js';
import { mulberry32 } from '../random.js';
import { edgeOpsGraph, smallSchema } from '../testing.js';
import { buildTrainStep } from '../train/train-step.js';
import { buildModel, INTERACTIONS } from '../zoo/index.js';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { decomposeComposites } from './decompose.js';
import { COMPOSITE_OPS, OP_NAMES, OPS, PRIMITIVE_OPS, opRecord } from './index.js';
import type { ExampleOperand, OpName } from './support/record.js';

/** Random values for an example operand: its `values` first, then uniform in its range. */
function draw(operand: ExampleOperand, batch: number, rand: () => number): HostTensor {
  const shape = concreteShape(operand.shape, batch);
  const [lo, hi] = operand.range ?? [-2, 2];
  const at = (i: number) => operand.values?.[i] ?? lo + rand() * (hi - lo);
  const n = sizeOf(shape);
  return operand.dtype === 'i32'
    ? { shape, data: Int32Array.from({ length: n }, (_, i) => (operand.values?.[i] ?? Math.floor(at(i)))) }
    : { shape, data: Float64Array.from({ length: n }, (_, i) => at(i)) };
}

/** Largest |got − want| / max(1, |want|); 0 where both are NaN, Infinity where one is. */
function worst(got: HostTensor, want: HostTensor): number {
  expect(got.shape).toEqual(want.shape);
  let w = 0;
  for (let i = 0; i < want.data.length; i++) {
    const [g, e] = [got.data[i]!, want.data[i]!];
    if (Number.isNaN(g) && Number.isNaN(e)) continue;
    const err = Math.abs(g - e) / Math.max(1, Math.abs(e));
    w = Number.isNaN(err) ? Infinity : Math.max(w, err);
  }
  return w;
}

describe('the op registry', () => {
  it('holds each record under its own name, in OP_NAMES order, each primitive or composite', () => {
    expect(Object.keys(OPS)).toEqual(OP_NAMES);
    for (const op of OP_NAMES) expect(OPS[op].name).toBe(op);
    expect([...PRIMITIVE_OPS, ...COMPOSITE_OPS].sort()).toEqual([...OP_NAMES].sort());
    expect(PRIMITIVE_OPS.filter((op) => COMPOSITE_OPS.includes(op))).toEqual([]);
  });

  it("each record's attrs schema accepts the attrs of every node the zoo, autodiff and the train step emit", () => {
    const schema = smallSchema();
    for (const interaction of INTERACTIONS) {
      const zoo = buildModel(schema, { model: 'esm2', interaction, towers: [4], embeddingDim: 3, numericDim: 2 });
      const step = buildTrainStep(zoo, { ...DEFAULT_OPTIMIZER, clipNorm: 1 });
      for (const node of [...zoo.graph.nodes, ...step.graph.nodes, ...edgeOpsGraph().nodes]) {
        expect(OPS[node.op].attrs.safeParse(node.attrs).success, `${node.id} (${node.op})`).toBe(true);
      }
    }
  });

  it('every composite has a decomposition and examples to check it on', () => {
    for (const op of COMPOSITE_OPS) {
      const record = opRecord(op);
      expect(record.kind).toBe('composite');
      if (record.kind !== 'composite') continue;
      expect(typeof record.decompose, op).toBe('function');
      expect(record.examples.length, op).toBeGreaterThan(0);
    }
  });
});

describe('every composite equals its decomposition (interpreted, random inputs)', () => {
  const cases = COMPOSITE_OPS.flatMap((op) => {
    const record = opRecord(op);
    return record.kind === 'composite' ? record.examples.map((example, k) => ({ name: `${op}, example ${k + 1} of ${record.examples.length}`, op, example, k })) : [];
  });

  it.each(cases)('$name', ({ op, example, k }) => {
    const b = new GraphBuilder(`${op}-${k}`);
    const inputs = example.inputs.map((operand, i) => b.input(`x${i}`, operand.dtype, operand.shape));
    b.output('y', b.op(op, inputs, example.attrs));
    const graph = b.build();
    const otherComposites = new Set<OpName>(COMPOSITE_OPS.filter((other) => other !== op));
    const oneLevel = decomposeComposites(graph, otherComposites);
    const primitive = decomposeComposites(graph, new Set());
    expect(oneLevel.nodes.some((n) => n.op === op)).toBe(false);
    expect(primitive.nodes.filter((n) => !PRIMITIVE_OPS.includes(n.op)).map((n) => n.op)).toEqual([]);
    for (const batch of [1, 5, 9]) {
      const rand = mulberry32(1000 * k + batch);
      const feeds = Object.fromEntries(example.inputs.map((operand, i) => [`x${i}`, draw(operand, batch, rand)]));
      const want = interpret(graph, new Map(), feeds).y!;
      expect(worst(interpret(oneLevel, new Map(), feeds).y!, want)).toBeLessThanOrEqual(1e-6);
      expect(worst(interpret(primitive, new Map(), feeds).y!, want)).toBeLessThanOrEqual(1e-6);
    }
  });
});
