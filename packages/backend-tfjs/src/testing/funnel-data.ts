import { mulberry32, normalSampler, parseFeatureSchema, type FeatureSchema, type HostTensor } from '@esm2/core';

/**
 * A tiny impression → click → DAction → buy world with known probabilities,
 * for training tests that must not depend on the data package. Users and
 * items carry latent effects; purchase is far likelier after a DAction.
 */
export interface FunnelData {
  schema: FeatureSchema;
  rows: number;
  feeds: Record<string, HostTensor>;
  truth: { pctr: Float64Array; pcvr: Float64Array; pctcvr: Float64Array };
}

export function funnelSchema(): FeatureSchema {
  return parseFeatureSchema({
    fields: [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 60 } },
      { kind: 'categorical', name: 'item', encoding: { kind: 'vocabulary', size: 90 } },
      { kind: 'categorical', name: 'cat', encoding: { kind: 'vocabulary', size: 12 } },
      { kind: 'numeric', name: 'price' },
    ],
    userField: 'user',
  });
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function generateFunnel(rows: number, seed: number, worldSeed = 7): FunnelData {
  const world = normalSampler(mulberry32(worldSeed));
  const effects = (n: number, s: number) => Float64Array.from({ length: n }, () => world() * s);
  const [uClick, uAct, iClick, iAct, iBuy] = [effects(60, 0.8), effects(60, 0.6), effects(90, 1.0), effects(90, 1.0), effects(90, 1.0)];
  const itemCat = Int32Array.from({ length: 90 }, (_, i) => 1 + (i % 11));
  const rand = mulberry32(seed);
  const user = new Int32Array(rows);
  const item = new Int32Array(rows);
  const cat = new Int32Array(rows);
  const price = new Float32Array(rows);
  const [click, daction, buy] = [new Float32Array(rows), new Float32Array(rows), new Float32Array(rows)];
  const truth = { pctr: new Float64Array(rows), pcvr: new Float64Array(rows), pctcvr: new Float64Array(rows) };
  for (let r = 0; r < rows; r++) {
    const u = 1 + Math.floor(rand() * 59);
    const i = 1 + Math.floor(rand() * 89);
    const p = iBuy[i]! * 0.5 + (rand() - 0.5);
    user[r] = u;
    item[r] = i;
    cat[r] = itemCat[i]!;
    price[r] = p;
    const pc = sigmoid(uClick[u]! + iClick[i]! - 1);
    const pa = sigmoid(uAct[u]! + iAct[i]! - 0.8);
    const pbA = sigmoid(iBuy[i]! - 0.3 * p);
    const pbO = sigmoid(iBuy[i]! - 3);
    truth.pctr[r] = pc;
    truth.pcvr[r] = pa * pbA + (1 - pa) * pbO;
    truth.pctcvr[r] = pc * truth.pcvr[r]!;
    const c = rand() < pc ? 1 : 0;
    const a = c && rand() < pa ? 1 : 0;
    const b = c && rand() < (a ? pbA : pbO) ? 1 : 0;
    click[r] = c;
    daction[r] = a;
    buy[r] = b;
  }
  const col = (data: Int32Array | Float32Array): HostTensor => ({ shape: [rows], data });
  return {
    schema: funnelSchema(),
    rows,
    feeds: { user: col(user), item: col(item), cat: col(cat), price: col(price), click: col(click), daction: col(daction), buy: col(buy) },
    truth,
  };
}

/** Rows [start, end) of every column. */
export function sliceFeeds(feeds: Record<string, HostTensor>, start: number, end: number): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { shape: [end - start, ...t.shape.slice(1)], data: t.data.subarray(start, end) }]));
}
