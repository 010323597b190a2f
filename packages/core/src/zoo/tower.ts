import { ops, type GraphBuilder, type Value } from '../ir/builder.js';
import type { ModelConfig } from './config.js';

/** An MLP tower ending in one sigmoid unit: a probability per row, shape [batch]. */
export function mlpTower(b: GraphBuilder, name: string, x: Value, config: ModelConfig): Value {
  let h = x;
  let width = x.type.shape[1] as number;
  for (const [i, units] of config.towers.entries()) {
    const w = b.param(`${name}/l${i}/w`, [width, units], { kind: 'glorotUniform' });
    const bias = b.param(`${name}/l${i}/b`, [units], { kind: 'zeros' });
    const z = ops.add(b, ops.matmul(b, h, w), bias);
    h = config.activation === 'relu' ? ops.relu(b, z) : ops.tanh(b, z);
    width = units;
  }
  const w = b.param(`${name}/out/w`, [width, 1], { kind: 'glorotUniform' });
  const bias = b.param(`${name}/out/b`, [1], { kind: 'zeros' });
  const logit = ops.add(b, ops.matmul(b, h, w), bias);
  return ops.sigmoid(b, ops.reshape(b, logit, ['batch']));
}
