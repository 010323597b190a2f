/**
 * Raw onnxruntime-node scoring speed of the exported ESM2 model (default
 * size: 9 categorical fields, dim 16, towers 256-128-64), by batch size,
 * intra-op threads and spinning. Each cell runs for a bounded time.
 *
 *   pnpm --filter @esm2/backend-onnx bench [-- --seconds 1]
 */
import { buildModel, initWeights, parseFeatureSchema } from '@esm2/core';
import { randomFeeds } from '@esm2/core/testing';
import { compileGraph } from '../src/lower/compile.js';
import { modelProto } from '../src/lower/model.js';
import { encodeModel } from '../src/proto/codec.js';
import { OnnxSession } from '../src/runtime/session.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;
const BATCHES = [1, 64, 1024];

const schema = parseFeatureSchema({
  fields: Array.from({ length: 9 }, (_, i) => ({ kind: 'categorical', name: `f${i}`, encoding: { kind: 'vocabulary', size: 10_000 } })),
});
const model = buildModel(schema, {}); // defaults: esm2, dim 16, towers 256-128-64
const outputs = [...model.predictions, ...model.towers];
const bytes = encodeModel(modelProto(compileGraph(model.graph, initWeights(model.graph, 1), { outputs })));

/** Multiply-adds per row of the four towers: what the GFLOP/s column counts. */
const width = 9 * 16;
const towerMacs = [width, 256, 128, 64].reduce((s, w, i, a) => (i + 1 < a.length ? s + w * a[i + 1]! : s + w), 0) * 4;

async function measure(session: OnnxSession, batch: number): Promise<{ rowsPerSec: number; msPerRun: number }> {
  const feeds = randomFeeds(model.graph, schema, batch, batch);
  for (let i = 0; i < 20; i++) await session.run(feeds, outputs); // warm-up: allocations, kernel choice
  let runs = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    await session.run(feeds, outputs);
    runs++;
  }
  const ms = performance.now() - start;
  return { rowsPerSec: (runs * batch * 1000) / ms, msPerRun: ms / runs };
}

console.log(`onnxruntime-node raw session, ESM2 9×16 → 4 × (256-128-64-1), ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB model, ${SECONDS}s per cell`);
console.log('threads  spinning  batch   samples/s    ms/run   GFLOP/s');
for (const threads of [1, 2]) {
  for (const spinning of [false, true]) {
    const session = await OnnxSession.load(bytes, { threads, spinning });
    for (const batch of BATCHES) {
      const r = await measure(session, batch);
      const gflops = (r.rowsPerSec * towerMacs * 2) / 1e9;
      console.log(
        `${String(threads).padStart(7)}  ${(spinning ? 'on' : 'off').padStart(8)}  ${String(batch).padStart(5)}  ${Math.round(r.rowsPerSec).toString().padStart(10)}  ${r.msPerRun.toFixed(3).padStart(8)}  ${gflops.toFixed(1).padStart(8)}`,
      );
    }
    await session.release();
  }
}
