/**
 * A first look at the model: builds ESM2 from a small schema, runs the
 * reference interpreter on generated rows, prints the four predictions and
 * the losses. The full train → evaluate → export → score job lives in the
 * trainer app; this stays as the smallest end-to-end view of the maths.
 */
import { buildModel, initWeights, interpret, printGraph } from './index.js';
import { randomFeeds, smallSchema } from './testing.js';

const schema = smallSchema();
const model = buildModel(schema, { towers: [8, 4], embeddingDim: 4, numericDim: 3 });
const weights = initWeights(model.graph, 42);
const feeds = randomFeeds(model.graph, schema, 6, 42);
const out = interpret(model.graph, weights, feeds);

console.log(printGraph(model.graph).split('\n').slice(0, 12).join('\n') + '\n  …');
console.log(`\n${model.graph.nodes.length} equations, ${model.graph.params.length} parameters\n`);
const cols = ['click', 'daction', 'buy', 'y1', 'y2', 'y3', 'y4', 'pctr', 'pctavr', 'pcvr', 'pctcvr'];
console.log(cols.map((c) => c.padStart(8)).join(' '));
for (let i = 0; i < 6; i++) {
  console.log(cols.map((c) => (out[c] ?? feeds[c])!.data[i]!.toFixed(4).padStart(8)).join(' '));
}
for (const l of model.losses) console.log(`${l.padEnd(11)} ${out[l]!.data[0]!.toFixed(6)}`);
