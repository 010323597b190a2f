/**
 * Wall time of the paper's experiment as a command: `compare` of all five
 * models (esm2, esmm, dnn, dnn-os, gbdt), one seed, one epoch, on generated
 * data (2 M training rows, 200 k validation, 500 k test by default; one
 * world), and the share of it each model takes (its cell: training, the
 * validation pass, scoring the test file; GBDT's includes fitting its
 * encoders), the rest being the summary (DeLong, the user bootstrap) and the
 * report. Generating the files is not counted.
 *
 *   pnpm --filter @esm2/trainer bench            (with the training bench; or `pnpm bench` at the root)
 *   BENCH_COMPARE_ROWS=500000 pnpm --filter @esm2/trainer exec tsx bench/compare.ts
 *   BENCH_COMPARE_ROWS=0 skips it.
 */
import { writeSynthetic } from '@esm2/data';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompare } from '../src/compare/run.js';
import { parseModels } from '../src/compare/spec.js';

const ROWS = Number(process.env.BENCH_COMPARE_ROWS ?? 2_000_000);
const MODELS = 'esm2,esmm,dnn,dnn-os,gbdt';

async function main(): Promise<void> {
  if (ROWS === 0) {
    console.log('compare bench: skipped (BENCH_COMPARE_ROWS=0)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'esm2-compare-bench-'));
  try {
    const files = { train: join(dir, 'train.parquet'), valid: join(dir, 'valid.parquet'), test: join(dir, 'test.parquet') };
    const sizes = { train: ROWS, valid: Math.round(ROWS / 10), test: Math.round(ROWS / 4) };
    await writeSynthetic(files.train, { rows: sizes.train, seed: 1, worldSeed: 7, truth: true });
    await writeSynthetic(files.valid, { rows: sizes.valid, seed: 2, worldSeed: 7, truth: true });
    await writeSynthetic(files.test, { rows: sizes.test, seed: 3, worldSeed: 7, truth: true });
    console.log(`\ncompare bench: ${MODELS}, 1 seed, 1 epoch; ${sizes.train} training, ${sizes.valid} validation, ${sizes.test} test rows (generated)`);

    // Each model's share: from its cell's start line to its finished line (GBDT: from fitting its encoders).
    const spent = new Map<string, number>();
    let current: { model: string; since: number } | undefined;
    const close = (now: number) => {
      if (current) spent.set(current.model, (spent.get(current.model) ?? 0) + now - current.since);
      current = undefined;
    };
    const log = (message: string) => {
      const now = performance.now();
      const start = /^cell \d+\/\d+ \S+: ([\w-]+), seed/.exec(message);
      if (message.startsWith('fitting the GBDT encoders')) {
        close(now);
        current = { model: 'gbdt', since: now };
      } else if (start) {
        if (current?.model !== start[1]) {
          close(now);
          current = { model: start[1]!, since: now };
        }
      } else if (/: finished \(/.test(message)) close(now);
    };
    const t0 = performance.now();
    await runCompare({ ...files, entries: parseModels(MODELS), seeds: [1], epochs: 1, out: join(dir, 'cmp'), log });
    const total = performance.now() - t0;
    const cells = [...spent.values()].reduce((a, b) => a + b, 0);
    console.log(`wall time ${(total / 1000).toFixed(0)} s`);
    console.log('model    seconds  share');
    for (const [model, ms] of spent) console.log(`${model.padEnd(7)} ${(ms / 1000).toFixed(0).padStart(8)}  ${((100 * ms) / total).toFixed(0).padStart(4)} %`);
    console.log(`${'summary'.padEnd(7)} ${((total - cells) / 1000).toFixed(0).padStart(8)}  ${((100 * (total - cells)) / total).toFixed(0).padStart(4)} %  (DeLong, user bootstrap, tables, report)`);
    console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
