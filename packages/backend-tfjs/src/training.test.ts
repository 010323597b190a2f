import { buildModel, evaluateEsm2, initWeights, type Esm2Metrics } from '@esm2/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { generateFunnel, sliceFeeds, type FunnelData } from './testing/funnel-data.js';

beforeAll(cpuRuntime);

async function evaluate(engine: TfjsEngine, test: FunnelData): Promise<Esm2Metrics> {
  const p = await engine.predict(test.feeds, ['pctr', 'pctavr', 'pcvr', 'pctcvr']);
  const f = test.feeds;
  return evaluateEsm2({ ...p, click: f.click!.data, daction: f.daction!.data, buy: f.buy!.data, truth: test.truth });
}

describe('training on a generated funnel', () => {
  it('ESM2 with narrow towers: loss falls and CVR/CTCVR AUC clearly beat the untrained model', async () => {
    const train = generateFunnel(6000, 1);
    const test = generateFunnel(3000, 2);
    const model = buildModel(train.schema, { model: 'esm2', towers: [16, 8], embeddingDim: 8 });
    const engine = new TfjsEngine(model, initWeights(model.graph, 42), { ...DEFAULT_TEST_OPTIMIZER, lr: 0.01 }, await cpuRuntime());
    const before = await evaluate(engine, test);
    const batch = 200;
    const epochLoss: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) {
      let sum = 0;
      for (let s = 0; s < train.rows; s += batch) sum += (await engine.step(sliceFeeds(train.feeds, s, s + batch))).losses.loss!;
      epochLoss.push(sum / (train.rows / batch));
    }
    const after = await evaluate(engine, test);
    console.log(
      `loss by epoch ${epochLoss.map((l) => l.toFixed(4)).join(' ')}; ` +
        `CVR AUC ${before.cvr_auc!.toFixed(3)} → ${after.cvr_auc!.toFixed(3)} (oracle ${after.oracle!.cvr_auc!.toFixed(3)}), ` +
        `CTCVR AUC ${before.ctcvr_auc!.toFixed(3)} → ${after.ctcvr_auc!.toFixed(3)} (oracle ${after.oracle!.ctcvr_auc!.toFixed(3)})`,
    );
    expect(epochLoss.at(-1)!).toBeLessThan(epochLoss[0]! * 0.95);
    expect(after.cvr_auc!).toBeGreaterThan(before.cvr_auc! + 0.1);
    expect(after.ctcvr_auc!).toBeGreaterThan(before.ctcvr_auc! + 0.1);
    expect(after.cvr_auc!).toBeGreaterThan(after.oracle!.cvr_auc! - 0.08);
    engine.dispose();
  });
});
