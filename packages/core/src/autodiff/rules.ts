import { opTable, type BackwardRule, type OpName } from '../ops/index.js';

/** Every op's backward rule, by name: a view of the op records (packages/core/src/ops/). */
export const backwardRules: { [O in OpName]: BackwardRule<O> } = opTable('backward');

export { AutodiffError } from '../ops/support/emit.js';
export type { BackwardRule } from '../ops/index.js';
