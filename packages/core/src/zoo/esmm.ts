import { GraphBuilder, ops } from '../ir/builder.js';
import type { FeatureSchema } from '../schema.js';
import type { ModelConfig } from './config.js';
import { composeSharedEmbedding } from './embedding.js';
import { entireSpaceBce } from './esm2.js';
import { labelInputs } from './labels.js';
import type { ZooModel } from './model.js';
import { mlpTower, towerRate } from './tower.js';

/** ESMM (Ma et al. 2018): pCTCVR = pCTR·pCVR; L = BCE(pCTR, c) + BCE(pCTCVR, c·b) over all impressions. */
export function buildEsmm(schema: FeatureSchema, config: ModelConfig): ZooModel {
  const b = new GraphBuilder('esmm');
  const x = composeSharedEmbedding(b, schema, config);
  const pctr = mlpTower(b, 'ctr', x, config);
  const pcvr = mlpTower(b, 'cvr', x, config);
  const pctcvr = ops.mul(b, pctr, pcvr);
  const { click, buy } = labelInputs(b);
  const lossCtr = entireSpaceBce(b, pctr, click, config);
  const lossCtcvr = entireSpaceBce(b, pctcvr, ops.mul(b, click, buy), config);
  const loss = ops.weightedSum(b, [lossCtr, lossCtcvr], [config.lossWeights.ctr, config.lossWeights.ctcvr]);
  b.output('pctr', pctr);
  b.output('pcvr', pcvr);
  b.output('pctcvr', pctcvr);
  b.output('loss', loss);
  b.output('loss_ctr', lossCtr);
  b.output('loss_ctcvr', lossCtcvr);
  return {
    graph: b.build(),
    config,
    predictions: ['pctr', 'pcvr', 'pctcvr'],
    towers: [],
    losses: ['loss', 'loss_ctr', 'loss_ctcvr'],
    towerRates: [towerRate('ctr', 'ctr'), towerRate('cvr', 'buyGivenClick')],
  };
}
