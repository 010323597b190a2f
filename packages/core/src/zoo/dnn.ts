import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import type { FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';
import { composeSharedEmbedding } from './embedding.js';
import { labelInputs } from './labels.js';
import type { ZooModel } from './model.js';
import { mlpTower } from './tower.js';

/**
 * The single-tower baselines. CTR: BCE(p, c) on every row. CVR: BCE(p, b) on
 * clicked rows only, as a click-weighted mean so batches need no filtering.
 * DNN-OS weighs positives ×rate: the expected loss of over-sampling them.
 */
export function buildDnn(schema: FeatureSchema, config: ModelConfig, oversample: boolean): ZooModel {
  const b = new GraphBuilder(oversample ? 'dnn-os' : 'dnn');
  const x = composeSharedEmbedding(b, schema, config);
  const p = mlpTower(b, config.task, x, config);
  const { click, buy } = labelInputs(b);
  const label = config.task === 'ctr' ? click : buy;
  let weight: Value | undefined = config.task === 'cvr' ? click : undefined;
  if (oversample) {
    const boost = ops.add(b, ops.constant(b, 1), ops.mul(b, ops.constant(b, config.oversampleRate - 1), label));
    weight = weight ? ops.mul(b, weight, boost) : boost;
  }
  const rowLoss = ops.bce(b, p, label, config.bceEps);
  const loss = weight ? ops.weightedMean(b, rowLoss, weight) : ops.mean(b, rowLoss);
  const prediction = config.task === 'ctr' ? 'pctr' : 'pcvr';
  b.output(prediction, p);
  b.output('loss', loss);
  return { graph: b.build(), config, predictions: [prediction], towers: [], losses: ['loss'] };
}
