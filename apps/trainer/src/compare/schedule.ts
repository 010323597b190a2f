import { join } from 'node:path';
import type { CellInfo } from './options.js';
import { cellName, type CompareEntry } from './spec.js';

/** The grid of models × seeds, in output order: each cell a run directory `<runsDir>/<name>-seed<k>`. */
export function planCells(entries: CompareEntry[], seeds: number[], runsDir: string): CellInfo[] {
  const cells: CellInfo[] = [];
  for (const entry of entries) {
    for (const seed of seeds) {
      const name = cellName(entry.name, seed);
      cells.push({ name, entry, seed, dir: join(runsDir, name), index: cells.length + 1, count: 0 });
    }
  }
  for (const c of cells) c.count = cells.length;
  return cells;
}

/** Runs `run` on every cell: one after another by default; `parallel` N runs N at once, each taking the next cell when it is done. */
export async function runCells(cells: CellInfo[], parallel: number, run: (cell: CellInfo) => Promise<void>): Promise<void> {
  const queue = [...cells];
  const workers = Array.from({ length: Math.min(parallel, cells.length) }, async () => {
    for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) await run(cell);
  });
  await Promise.all(workers);
}
