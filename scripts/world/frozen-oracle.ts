/**
 * How much ground a perfect model frozen on day 0 loses in the world of
 * `data generate --days` (packages/data/src/synthetic/moving.ts): per day,
 * the CTR AUC of the day's own true click logit (the oracle) and of a
 * "frozen oracle" that knows day 0's world exactly and nothing after it —
 * day 0's taste vectors and item appeal for the users and items of day 0,
 * and for those born later only what their features tell (an item's
 * category vector, zero bias, no taste). A model that stops learning after
 * day 0 can at best match the frozen oracle; the gap between the two is
 * what retraining can win back. Impressions and clicks are drawn from each
 * day's world, from a stream of this script's own.
 *
 *   pnpm exec tsx scripts/world/frozen-oracle.ts [--world-seed 7] [--days 14] [--rows 200000] [--drift interest=1,appeal=1]
 *
 * --drift overrides DEFAULT_DRIFT's keys (e.g. interest=1,appeal=1: no drift of tastes and appeal, to see what
 * the births and deaths alone cost).
 */
import { parseArgs } from 'node:util';
import { auc } from '../../packages/core/src/index.js';
import { calibrate, drawImpression, scores, sigmoid, type Intercepts, type Scores } from '../../packages/data/src/synthetic/behaviour.js';
import { DEFAULT_DRIFT, MovingWorld, type Drift } from '../../packages/data/src/synthetic/moving.js';
import { DEFAULT_SIZES, DIM, stream, type World } from '../../packages/data/src/synthetic/world.js';

const { values } = parseArgs({ options: { 'world-seed': { type: 'string', default: '7' }, days: { type: 'string', default: '14' }, rows: { type: 'string', default: '200000' }, drift: { type: 'string', default: '' } } });
const [worldSeed, days, n] = [values['world-seed'], values.days, values.rows].map(Number) as [number, number, number];
if (![worldSeed, days, n].every((x) => Number.isInteger(x) && x >= 0) || days < 1 || n < 1) throw new Error('--world-seed, --days and --rows take integers');

const drift: Drift = { ...DEFAULT_DRIFT };
for (const kv of values.drift ? values.drift.split(',') : []) {
  const [key, value] = kv.split('=');
  if (!key || !(key in drift) || value === undefined || !Number.isFinite(Number(value))) throw new Error(`--drift ${kv}: expected KEY=NUMBER with KEY one of ${Object.keys(drift).join(', ')}`);
  drift[key as keyof Drift] = Number(value);
}
const m = new MovingWorld(worldSeed, DEFAULT_SIZES, days, drift);
const users0 = m.firstBorn('user', 1);
const items0 = m.firstBorn('item', 1);
let day0: { userVec: Float32Array; userBias: Float32Array; itemBias: Float32Array } | undefined;
let b: Intercepts | undefined;
const u = stream(worldSeed, 'frozen-oracle');
const s: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
const f: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
console.log(`world ${worldSeed}, ${n} impressions a day${values.drift ? `, drift ${values.drift}` : ''}: CTR AUC of the day's oracle and of an oracle frozen on day 0`);
console.log('| day | clicks | oracle | frozen on day 0 | gap |');
console.log('|---|---|---|---|---|');
for (let d = 0; d < days; d++) {
  const w = m.day(d);
  b ??= calibrate(w, worldSeed);
  day0 ??= { userVec: w.user.vec.slice(0, users0 * DIM), userBias: w.user.bias.slice(0, users0), itemBias: w.item.bias.slice(0, items0) };
  // What the frozen oracle believes about day d's world: day 0's values, priors for the newborn.
  const itemVec = Float32Array.from(w.item.vec);
  for (let i = items0; i < w.sizes.items; i++) for (let k = 0; k < DIM; k++) itemVec[i * DIM + k] = w.category.vec[w.item.category[i]! * DIM + k]!;
  const userVec = new Float32Array(w.user.vec.length);
  userVec.set(day0.userVec);
  const userBias = new Float32Array(w.user.bias.length);
  userBias.set(day0.userBias);
  const itemBias = new Float32Array(w.item.bias.length);
  itemBias.set(day0.itemBias);
  const frozen: World = { ...w, user: { ...w.user, vec: userVec, bias: userBias }, item: { ...w.item, vec: itemVec, bias: itemBias } };
  const y = new Float32Array(n);
  const oracle = new Float32Array(n);
  const stale = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const imp = drawImpression(w, u);
    oracle[i] = scores(w, imp, s).ctr;
    stale[i] = scores(frozen, imp, f).ctr;
    y[i] = u() < sigmoid(s.ctr + b.ctr) ? 1 : 0;
  }
  const [a, z] = [auc(oracle, y), auc(stale, y)];
  console.log(`| ${d} | ${y.reduce((p, q) => p + q, 0)} | ${a.toFixed(4)} | ${z.toFixed(4)} | ${(a - z).toFixed(4)} |`);
}
