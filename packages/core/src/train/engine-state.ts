import type { StateTensor } from '../artifact/artifact.js';
import type { EngineState, OptimizerConfig } from '../engine.js';
import type { SparseEmbeddingTable } from './sparse-table.js';

/** Optimizer state names every engine uses (checkpoints move between backends). */
export const STATE_KEYS = {
  step: 'step',
  dense: (slot: 'm' | 'v', param: string) => `adam/${slot}/${param}`,
  table: (optimizer: OptimizerConfig['embeddingOptimizer'], slot: string, param: string) => `${optimizer}/${slot}/${param}`,
} as const;

/**
 * What a training engine's optimizer state consists of — the same for every
 * engine: the step count, Adam's two moments for each dense parameter, and
 * the optimizer slots of each host embedding table. Engines differ only in
 * where the dense moments live, which the `moment` / `setMoment` callbacks
 * of saveEngineState / restoreEngineState bridge.
 */
export interface OptimizerStateLayout {
  embeddingOptimizer: OptimizerConfig['embeddingOptimizer'];
  dense: readonly { name: string; shape: readonly number[] }[];
  tables: ReadonlyMap<string, SparseEmbeddingTable>;
}

/** A copy of an engine's optimizer state under STATE_KEYS. `moment` may return a view: it is copied. */
export function saveEngineState(layout: OptimizerStateLayout, step: number, moment: (slot: 'm' | 'v', param: string) => ArrayLike<number>): EngineState {
  const state: EngineState = new Map([[STATE_KEYS.step, { dtype: 'i32', shape: [], data: Int32Array.of(step) }]]);
  for (const { name, shape } of layout.dense) {
    for (const slot of ['m', 'v'] as const) state.set(STATE_KEYS.dense(slot, name), { dtype: 'f32', shape: [...shape], data: Float32Array.from(moment(slot, name)) });
  }
  for (const [name, table] of layout.tables) {
    for (const [slot, data] of table.slots()) {
      state.set(STATE_KEYS.table(layout.embeddingOptimizer, slot, name), { dtype: 'f32', shape: [table.rows, table.dim], data: Float32Array.from(data) });
    }
  }
  return state;
}

/**
 * Checks `state` against the layout — every expected tensor present with
 * its dtype and size, nothing unexpected — and only then restores the
 * tables' slots and, through `setMoment`, the dense moments. Returns the
 * step count. A state saved for another model or embedding optimizer is
 * refused before anything changes.
 */
export function restoreEngineState(
  layout: OptimizerStateLayout,
  state: ReadonlyMap<string, StateTensor>,
  setMoment: (slot: 'm' | 'v', param: string, data: Float32Array) => void,
): number {
  const expected = new Map<string, { dtype: StateTensor['dtype']; size: number }>([[STATE_KEYS.step, { dtype: 'i32', size: 1 }]]);
  for (const { name, shape } of layout.dense) {
    const size = shape.reduce((a, d) => a * d, 1);
    for (const slot of ['m', 'v'] as const) expected.set(STATE_KEYS.dense(slot, name), { dtype: 'f32', size });
  }
  for (const [name, table] of layout.tables) {
    for (const [slot, data] of table.slots()) expected.set(STATE_KEYS.table(layout.embeddingOptimizer, slot, name), { dtype: 'f32', size: data.length });
  }
  const missing = [...expected.keys()].filter((k) => !state.has(k));
  const extra = [...state.keys()].filter((k) => !expected.has(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `optimizer state does not match this model and optimizer (embedding optimizer '${layout.embeddingOptimizer}')` +
        (missing.length ? `; missing: ${list(missing)}` : '') +
        (extra.length ? `; unexpected: ${list(extra)}` : ''),
    );
  }
  for (const [key, want] of expected) {
    const got = state.get(key)!;
    if (got.dtype !== want.dtype) throw new Error(`optimizer state '${key}' is ${got.dtype}, expected ${want.dtype}`);
    if (got.data.length !== want.size) throw new Error(`optimizer state '${key}' has ${got.data.length} values, expected ${want.size}`);
  }
  const step = state.get(STATE_KEYS.step)!.data[0]!;
  if (!(step >= 0)) throw new Error(`optimizer state '${STATE_KEYS.step}' is ${step}, expected a step count >= 0`);
  for (const { name } of layout.dense) {
    for (const slot of ['m', 'v'] as const) setMoment(slot, name, state.get(STATE_KEYS.dense(slot, name))!.data as Float32Array);
  }
  for (const [name, table] of layout.tables) {
    for (const [slot, data] of table.slots()) data.set(state.get(STATE_KEYS.table(layout.embeddingOptimizer, slot, name))!.data);
  }
  return step;
}

const list = (keys: string[]) => keys.slice(0, 5).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
