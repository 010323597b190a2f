import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import type { FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';
import { composeSharedEmbedding, featureInputs } from './embedding.js';
import { labelInputs } from './labels.js';
import type { ZooModel } from './model.js';
import { mlpTower, towerRate } from './tower.js';

/**
 * The DNN baseline as the paper defines it (ESM2.md): two separately trained
 * networks of ESM2's branch shape, pCTCVR = pCTR·pCVR.
 * - CTR network: BCE(pCTR, c) over every impression.
 * - CVR network: BCE(pCVR, b) over clicked impressions only, as a
 *   click-weighted mean so batches need no filtering.
 * The two networks share nothing, not even embeddings: each is one tower on
 * its own tables (CVR: `emb/*`, `numeric/*`, tower `cvr`; CTR: `ctr/emb/*`,
 * `ctr/numeric/*`, tower `ctr`). Sharing the tables would let the plentiful
 * click data train the CVR network's embeddings, which is ESMM's
 * contribution, not the baseline's. loss = loss_ctr + loss_cvr, whose
 * gradient splits into the two networks' own gradients: one step trains both
 * as if apart.
 * DNN-OS weighs positives of each network ×rate: the expected loss of
 * over-sampling them.
 */
export function buildDnn(schema: FeatureSchema, config: ModelConfig, oversample: boolean): ZooModel {
  const b = new GraphBuilder(oversample ? 'dnn-os' : 'dnn');
  const inputs = featureInputs(b, schema);
  const pcvr = mlpTower(b, 'cvr', composeSharedEmbedding(b, schema, config, inputs), config);
  const pctr = mlpTower(b, 'ctr', composeSharedEmbedding(b, schema, config, inputs, 'ctr/'), config);
  const pctcvr = ops.mul(b, pctr, pcvr);
  const { click, buy } = labelInputs(b);
  const boost = (label: Value) => ops.add(b, ops.constant(b, 1), ops.mul(b, ops.constant(b, config.oversampleRate - 1), label));
  const ctrRows = ops.bce(b, pctr, click, config.bceEps);
  const lossCtr = oversample ? ops.weightedMean(b, ctrRows, boost(click)) : ops.mean(b, ctrRows);
  const lossCvr = ops.weightedMean(b, ops.bce(b, pcvr, buy, config.bceEps), oversample ? ops.mul(b, click, boost(buy)) : click);
  const loss = ops.weightedSum(b, [lossCtr, lossCvr], [1, 1]);
  b.output('pctr', pctr);
  b.output('pcvr', pcvr);
  b.output('pctcvr', pctcvr);
  b.output('loss', loss);
  b.output('loss_ctr', lossCtr);
  b.output('loss_cvr', lossCvr);
  // DNN-OS's weighted losses are minimised, as constants, by the over-sampled rates: its towers start there.
  const os = oversample ? config.oversampleRate : undefined;
  return {
    graph: b.build(),
    config,
    predictions: ['pctr', 'pcvr', 'pctcvr'],
    towers: [],
    losses: ['loss', 'loss_ctr', 'loss_cvr'],
    towerRates: [towerRate('ctr', 'ctr', os), towerRate('cvr', 'buyGivenClick', os)],
  };
}
