import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../batch.js';
import { fitEncoders } from '../encode/fit.js';
import { writeSynthetic } from '../synthetic/generate.js';
import { tempDir } from '../testing/tmp.js';
import { openDataset } from './open.js';
import { prefetchDataset } from './prefetch.js';

const tmp = await tempDir();
const parquet = tmp('synthetic.parquet');
const data = await writeSynthetic(parquet, { rows: 3000, seed: 9, truth: true });
const encoders = await fitEncoders(parquet, data.config);

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('prefetchDataset', () => {
  it('yields exactly the batches of openDataset, epoch by epoch, from a worker thread', async () => {
    const options = { encoders, batchSize: 256, shuffle: { seed: 3, buffer: 1000 } };
    const direct = openDataset(parquet, options);
    let progressed = 0;
    let doneRows = 0;
    const prefetched = prefetchDataset(parquet, { ...options, depth: 2, onProgress: (p) => (progressed = p.rows), onDone: (r) => (doneRows = r.rows) });
    for (let epoch = 0; epoch < 2; epoch++) {
      const [a, b] = [await collect(direct), await collect(prefetched)];
      expect(b.length).toBe(a.length);
      b.forEach((batch, i) => {
        expect(batch.size).toBe(a[i]!.size);
        expect(batch.features).toEqual(a[i]!.features);
        expect(batch.labels).toEqual(a[i]!.labels);
        expect(batch.truth).toEqual(a[i]!.truth);
      });
    }
    expect(progressed).toBe(3000);
    expect(doneRows).toBe(3000);
  });

  it('stops early without hanging and reports data errors with their location', async () => {
    const early = prefetchDataset(parquet, { encoders, batchSize: 100 });
    for await (const b of early) {
      expect(b.size).toBe(100);
      break;
    }
    const broken = tmp('broken.csv');
    await writeFile(broken, 'user_id,click,daction,buy\n1,0,0,0\n');
    await expect(collect(prefetchDataset(broken, { encoders, batchSize: 10 }))).rejects.toThrow(/broken\.csv.*missing column/);
  });
});
