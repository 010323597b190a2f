import type { GraphBuilder, Value } from '../ir/builder.js';

export interface LabelInputs {
  click: Value;
  daction: Value;
  buy: Value;
}

/**
 * Label inputs (f32 0/1 per impression). Every model declares all three so
 * training engines feed one fixed set; scoring graphs prune them away.
 */
export function labelInputs(b: GraphBuilder): LabelInputs {
  return {
    click: b.input('click', 'f32', ['batch'], 'label'),
    daction: b.input('daction', 'f32', ['batch'], 'label'),
    buy: b.input('buy', 'f32', ['batch'], 'label'),
  };
}
