/**
 * Training throughput of the tfjs engine at batch 1024 on the default ESM2
 * size: 9 categorical fields with realistic vocabularies, dim 16, towers
 * 256-128-64. Bounded: a fixed number of timed steps after a warm-up.
 *   pnpm bench [-- --steps 8 --vocab-scale 1]
 */
import { DEFAULT_OPTIMIZER, buildModel, initWeights, parseFeatureSchema } from '@esm2/core';
import { randomFeeds } from '@esm2/core/testing';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { tfjsEngineFactory } from '../src/index.js';

const { values: args } = parseArgs({
  // `pnpm bench -- --steps 4` passes the `--` through.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { steps: { type: 'string', default: '8' }, 'vocab-scale': { type: 'string', default: '1' }, batch: { type: 'string', default: '1024' } },
});
const steps = Number(args.steps);
const scale = Number(args['vocab-scale']);
const batch = Number(args.batch);

// Vocabularies of the order of Taobao's public samples (ids beyond them hash into these tables).
const VOCABULARIES: Record<string, number> = {
  user: 200_000,
  item: 500_000,
  category: 5_000,
  shop: 100_000,
  brand: 50_000,
  city: 400,
  age: 10,
  gender: 3,
  hour: 24,
};
const schema = parseFeatureSchema({
  fields: Object.entries(VOCABULARIES).map(([name, size]) => ({ kind: 'categorical', name, encoding: { kind: 'vocabulary', size: Math.max(3, Math.round(size * scale)) } })),
  userField: 'user',
});
const model = buildModel(schema, { model: 'esm2' });
const params = model.graph.params.reduce((n, p) => n + (p.type.shape as number[]).reduce((a, b) => a * b, 1), 0);

const engine = await tfjsEngineFactory().create({ model, weights: initWeights(model.graph, 1), optimizer: DEFAULT_OPTIMIZER });
const batches = Array.from({ length: 4 }, (_, i) => randomFeeds(model.graph, schema, batch, 100 + i));
await engine.step(batches[0]!); // warm-up: kernels, allocations
await engine.step(batches[1]!);

const t0 = performance.now();
for (let s = 0; s < steps; s++) await engine.step(batches[s % batches.length]!);
const seconds = (performance.now() - t0) / 1000;

const p0 = performance.now();
for (let s = 0; s < steps; s++) await engine.predict(batches[s % batches.length]!, ['pctr', 'pcvr', 'pctcvr']);
const predictSeconds = (performance.now() - p0) / 1000;
engine.dispose();

const mib = (kb: number) => (kb / 1024).toFixed(0);
console.log(`engine            ${engine.description}`);
console.log(`model             esm2, 9 categorical fields (${Object.values(VOCABULARIES).map((v) => Math.round(v * scale)).reduce((a, b) => a + b)} embedding rows), dim 16, towers 256-128-64, ${(params / 1e6).toFixed(2)} M params`);
console.log(`train             ${((steps * batch) / seconds).toFixed(0)} samples/s at batch ${batch} (${steps} steps, ${((seconds / steps) * 1000).toFixed(0)} ms/step)`);
console.log(`predict           ${((steps * batch) / predictSeconds).toFixed(0)} samples/s`);
console.log(`peak RSS          ${mib(process.resourceUsage().maxRSS)} MiB`);
