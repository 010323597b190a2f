import { OP_NAMES } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { edgeOpsGraph } from '@esm2/core/testing';
import { trainingGraph, zooModel, ZOO_VARIANTS } from '../test-support/graphs.js';
import { lowerings } from './table.js';

describe('lowering table', () => {
  it('has exactly one lowering per IR op', () => {
    expect(Object.keys(lowerings).sort()).toEqual([...OP_NAMES].sort());
  });

  it('is fully exercised by the parity tests (zoo scoring and training graphs plus the hand-built backward graph)', () => {
    const used = new Set<string>();
    for (const variant of Object.keys(ZOO_VARIANTS)) for (const n of trainingGraph(zooModel(variant)).nodes) used.add(n.op);
    for (const n of edgeOpsGraph().nodes) used.add(n.op);
    expect(OP_NAMES.filter((op) => !used.has(op))).toEqual([]);
  });
});
