import { OP_NAMES } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { lowerings } from './table.js';

// That every op's lowering computes what the interpreter does is the conformance suite's (src/conformance.test.ts).
describe('lowering table', () => {
  it('has exactly one lowering per IR op', () => {
    expect(Object.keys(lowerings).sort()).toEqual([...OP_NAMES].sort());
  });
});
