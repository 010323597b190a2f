/**
 * How much of the generated data's click AUC each term of the true click
 * logit carries (packages/data/src/synthetic/behaviour.ts): the AUC of the
 * full logit (the oracle), of the logit without the user·item taste term,
 * of that term alone, and of the user and item biases alone — on impressions
 * drawn from one world, clicks drawn from the true probabilities.
 *
 *   pnpm exec tsx scripts/ceiling/oracle-terms.ts [--world-seed 7] [--rows 500000]
 */
import { parseArgs } from 'node:util';
import { auc } from '../../packages/core/src/index.js';
import { calibrate, drawImpression, scores, sigmoid, type Scores } from '../../packages/data/src/synthetic/behaviour.js';
import { buildWorld, stream } from '../../packages/data/src/synthetic/world.js';

const { values } = parseArgs({ options: { 'world-seed': { type: 'string', default: '7' }, rows: { type: 'string', default: '500000' } } });
const worldSeed = Number(values['world-seed']);
const n = Number(values.rows);
if (!Number.isInteger(worldSeed) || !Number.isInteger(n) || n < 1) throw new Error('--world-seed and --rows take integers');
const w = buildWorld(worldSeed);
const intercepts = calibrate(w, worldSeed);
const u = stream(worldSeed + 1000, 'oracle-terms');
const y = new Float32Array(n);
const terms = { full: new Float32Array(n), 'without user·item': new Float32Array(n), 'user·item alone': new Float32Array(n), 'user + item biases alone': new Float32Array(n) };
// The same world with every user's taste vector zeroed: its click logit lacks the user·item term.
const tasteless = { ...w, user: { ...w.user, vec: new Float32Array(w.user.vec.length) } };
const s: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
const s0: Scores = { ctr: 0, daction: 0, buyD: 0, buyO: 0 };
for (let i = 0; i < n; i++) {
  const imp = drawImpression(w, u);
  scores(w, imp, s);
  scores(tasteless, imp, s0);
  terms.full[i] = s.ctr;
  terms['without user·item'][i] = s0.ctr;
  terms['user·item alone'][i] = s.ctr - s0.ctr;
  terms['user + item biases alone'][i] = w.user.bias[imp.user]! + w.item.bias[imp.item]!;
  y[i] = u() < sigmoid(s.ctr + intercepts.ctr) ? 1 : 0;
}
console.log(`world ${worldSeed}, ${n} impressions, ${y.reduce((a, b) => a + b, 0)} clicks; CTR AUC of:`);
for (const [name, score] of Object.entries(terms)) console.log(`  ${name.padEnd(26)} ${auc(score, y).toFixed(4)}`);
