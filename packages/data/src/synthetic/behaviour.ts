import { DIM, draw, stream, type World } from './world.js';

/** Paper-like funnel rates the generator is calibrated to. */
export const TARGET_RATES = {
  /** Clicks per impression. */
  ctr: 0.04,
  /** DActions per click. */
  dactionPerClick: 0.1,
  /** Purchases per DAction and per OAction: purchases per click = 0.1·0.06 + 0.9·0.0045 ≈ 1 %. */
  buyPerDAction: 0.06,
  buyPerOAction: 0.0045,
};

export interface Impression {
  user: number;
  item: number;
  hour: number;
}

/** Logits of the four sub-targets before their intercepts. */
export interface Scores {
  ctr: number;
  daction: number;
  buyD: number;
  buyO: number;
}

export function drawImpression(w: World, u: () => number): Impression {
  return { user: draw(w.user.cum, u()), item: draw(w.item.cum, u()), hour: draw(w.hourCum, u()) };
}

/**
 * Interactions each stage responds to: taste (user·item vectors), a
 * user's interest tags meeting the item's category, gender × category,
 * price sensitivity, time of day, and a hidden "buyer" trait that matters
 * after the click much more than before it.
 */
export function scores(w: World, imp: Impression, out: Scores): Scores {
  const { user: a, item: b } = imp;
  let dot = 0;
  for (let d = 0; d < DIM; d++) dot += w.user.vec[a * DIM + d]! * w.item.vec[b * DIM + d]!;
  const cat = w.item.category[b]!;
  const catTag = w.category.tag[cat]!;
  const tagMatch = w.user.tags[a]!.includes(catTag) ? 1 : 0;
  const genderCat = (w.user.gender[a] === 1 ? 1 : -1) * Math.sign(w.category.vec[cat * DIM]!) * 0.3;
  const logPrice = Math.log(w.item.price[b]! / 20);
  const buyer = w.user.buyer[a]!;
  const hour = w.hourBias[imp.hour]!;
  out.ctr = 1.2 * dot + w.user.bias[a]! + w.item.bias[b]! + 0.6 * tagMatch + genderCat + hour;
  out.daction = 0.8 * dot + 0.8 * buyer - 0.3 * logPrice + 0.4 * tagMatch + hour;
  out.buyD = 0.5 * dot + 1.0 * buyer - 0.3 * logPrice + 0.5 * hour;
  out.buyO = 0.3 * dot + 0.8 * buyer - 0.5 * logPrice + 0.5 * w.item.bias[b]!;
  return out;
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export interface Intercepts {
  ctr: number;
  daction: number;
  buyD: number;
  buyO: number;
}

/**
 * Intercepts that put the funnel's rates on target, found by bisection on a
 * fixed seeded sample of impressions. Each stage is calibrated among the
 * rows that reach it (DAction rate among expected clicks, and so on).
 */
export function calibrate(w: World, seed: number, samples = 20000): Intercepts {
  const u = stream(seed, 'calibration');
  const s: Scores[] = [];
  for (let i = 0; i < samples; i++) s.push(scores(w, drawImpression(w, u), { ctr: 0, daction: 0, buyD: 0, buyO: 0 }));
  const solve = (target: number, rate: (b: number) => number) => {
    let lo = -20;
    let hi = 10;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (rate(mid) < target) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const weighted = (weights: number[], logit: (x: Scores) => number) => (b: number) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < samples; i++) {
      num += weights[i]! * sigmoid(logit(s[i]!) + b);
      den += weights[i]!;
    }
    return num / den;
  };
  const ones = s.map(() => 1);
  const ctr = solve(TARGET_RATES.ctr, weighted(ones, (x) => x.ctr));
  const pClick = s.map((x) => sigmoid(x.ctr + ctr));
  const daction = solve(TARGET_RATES.dactionPerClick, weighted(pClick, (x) => x.daction));
  const pD = s.map((x, i) => pClick[i]! * sigmoid(x.daction + daction));
  const pO = s.map((x, i) => pClick[i]! * (1 - sigmoid(x.daction + daction)));
  const buyD = solve(TARGET_RATES.buyPerDAction, weighted(pD, (x) => x.buyD));
  const buyO = solve(TARGET_RATES.buyPerOAction, weighted(pO, (x) => x.buyO));
  return { ctr, daction, buyD, buyO };
}
