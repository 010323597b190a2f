/**
 * `pnpm bench`: read + encode throughput and peak memory on generated
 * files of 1 M and 5 M rows, CSV and Parquet. Each measurement runs in its
 * own process so its peak RSS is its own; flat RSS from 1 M to 5 M rows
 * shows the streaming works. Files go to the OS temp dir and are deleted.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitEncoders, openDataset, writeSynthetic, generateSynthetic } from '../src/index.js';

const SIZES = (process.env['BENCH_ROWS'] ?? '1000000,5000000').split(',').map(Number);
const FORMATS = ['csv', 'parquet'] as const;

interface Measurement {
  fitSeconds: number;
  readSeconds: number;
  rows: number;
  maxRssMiB: number;
}

/** Child: one fit pass and one batched read pass over `file`. */
async function measure(file: string): Promise<Measurement> {
  const { config } = generateSynthetic({ rows: 1, seed: 1 });
  let t = performance.now();
  const encoders = await fitEncoders(file, config);
  const fitSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  let rows = 0;
  for await (const b of openDataset(file, { encoders, batchSize: 4096 })) rows += b.size;
  const readSeconds = (performance.now() - t) / 1000;
  return { fitSeconds, readSeconds, rows, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function inChild(file: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--measure', file], { execArgv: process.execArgv });
    child.on('message', (m) => resolve(m as Measurement));
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && reject(new Error(`measurement of ${file} exited with ${code}`)));
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-bench-'));
  try {
    console.log('rows       format   size MiB  generate s  fit rows/s   read+encode rows/s  peak RSS MiB');
    for (const rows of SIZES) {
      for (const format of FORMATS) {
        const file = join(dir, `synthetic-${rows}.${format}`);
        const t = performance.now();
        await writeSynthetic(file, { rows, seed: 1, truth: true });
        const gen = (performance.now() - t) / 1000;
        const size = (await stat(file)).size / 2 ** 20;
        const m = await inChild(file);
        if (m.rows !== rows) throw new Error(`read ${m.rows} rows from ${file}, wrote ${rows}`);
        console.log(
          `${fmt(rows).padEnd(10)} ${format.padEnd(8)} ${size.toFixed(0).padStart(8)}  ${gen.toFixed(1).padStart(10)}  ${fmt(rows / m.fitSeconds).padStart(10)}  ${fmt(rows / m.readSeconds).padStart(19)}  ${m.maxRssMiB.toFixed(0).padStart(12)}`,
        );
        await rm(file, { force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--measure') {
  measure(process.argv[3]!).then((m) => {
    process.send!(m);
    process.exit(0);
  });
} else {
  await main();
}
