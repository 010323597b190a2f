import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import type { FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';
import { composeSharedEmbedding } from './embedding.js';
import { labelInputs } from './labels.js';
import type { ZooModel } from './model.js';
import { mlpTower, towerRate } from './tower.js';

/**
 * The Sequential Composition Module (no parameters), ESM2.md:
 *   pCTR = y1, pCTAVR = y1·y2, pCVR = y2·y3 + (1−y2)·y4, pCTCVR = y1·pCVR.
 * y4 is p(buy | OAction): OAction is the complement of DAction among clicks.
 */
export function composeEsm2(b: GraphBuilder, y1: Value, y2: Value, y3: Value, y4: Value) {
  const pctavr = ops.mul(b, y1, y2);
  const pcvr = ops.add(b, ops.mul(b, y2, y3), ops.mul(b, ops.oneMinus(b, y2), y4));
  const pctcvr = ops.mul(b, y1, pcvr);
  return { pctr: y1, pctavr, pcvr, pctcvr };
}

/** Mean BCE over every impression: the "entire space" losses. */
export function entireSpaceBce(b: GraphBuilder, p: Value, label: Value, config: ModelConfig): Value {
  return ops.mean(b, ops.bce(b, p, label, config.bceEps));
}

export function buildEsm2(schema: FeatureSchema, config: ModelConfig): ZooModel {
  const b = new GraphBuilder('esm2');
  const x = composeSharedEmbedding(b, schema, config);
  const [y1, y2, y3, y4] = (['y1', 'y2', 'y3', 'y4'] as const).map((t) => mlpTower(b, t, x, config)) as [Value, Value, Value, Value];
  const p = composeEsm2(b, y1, y2, y3, y4);
  const { click, daction, buy } = labelInputs(b);
  const lossCtr = entireSpaceBce(b, p.pctr, click, config);
  const lossCtavr = entireSpaceBce(b, p.pctavr, ops.mul(b, click, daction), config);
  const lossCtcvr = entireSpaceBce(b, p.pctcvr, ops.mul(b, click, buy), config);
  const w = config.lossWeights;
  const loss = ops.weightedSum(b, [lossCtr, lossCtavr, lossCtcvr], [w.ctr, w.ctavr, w.ctcvr]);
  for (const [name, v] of Object.entries({ y1, y2, y3, y4, ...p })) b.output(name, v);
  b.output('loss', loss);
  b.output('loss_ctr', lossCtr);
  b.output('loss_ctavr', lossCtavr);
  b.output('loss_ctcvr', lossCtcvr);
  return {
    graph: b.build(),
    config,
    predictions: ['pctr', 'pctavr', 'pcvr', 'pctcvr'],
    towers: ['y1', 'y2', 'y3', 'y4'],
    losses: ['loss', 'loss_ctr', 'loss_ctavr', 'loss_ctcvr'],
    towerRates: [towerRate('y1', 'ctr'), towerRate('y2', 'dactionGivenClick'), towerRate('y3', 'buyGivenDAction'), towerRate('y4', 'buyGivenOAction')],
  };
}
