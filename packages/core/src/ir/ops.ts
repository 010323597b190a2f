import { opTable, type OpName, type TypeRule } from '../ops/index.js';

/** Every op's type rule, by name: a view of the op records (packages/core/src/ops/). */
export const typeRules: { [O in OpName]: TypeRule<O> } = opTable('type');

export { pairCount, symmetricPairIndex, upperTrianglePairs } from '../ops/support/pairs.js';
