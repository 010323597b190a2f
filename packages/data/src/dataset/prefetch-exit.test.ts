import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { Encoders } from '../encode/encoders.js';
import { tempDir } from '../testing/tmp.js';

// The worker module is swapped for one that exits at once, without posting anything.
const worker = vi.hoisted(() => ({ dir: '' }));
vi.mock('../worker-thread.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../worker-thread.js')>();
  return { startModuleWorker: (_caller: string, _basename: string, options: object) => real.startModuleWorker(pathToFileURL(`${worker.dir}/caller.js`).href, 'exits', options) };
});
const { prefetchDataset } = await import('./prefetch.js');

const tmp = await tempDir();
worker.dir = tmp('.');
await writeFile(tmp('package.json'), '{ "type": "module" }\n');
await writeFile(tmp('exits.js'), 'process.exit(3);\n');

describe('prefetchDataset when its worker dies', () => {
  it('ends the epoch with an error naming the data, instead of waiting forever', async () => {
    const encoders = { toJSON: () => ({}) } as unknown as Encoders;
    const batches = prefetchDataset(tmp('data.parquet'), { encoders, batchSize: 10 });
    await expect(batches[Symbol.asyncIterator]().next()).rejects.toThrow(`${tmp('data.parquet')}: the prefetch worker stopped (exit code 3) before the epoch ended`);
  });
});
