import { mulberry32 } from '@esm2/core';
import type { Batch } from '../batch.js';
import { UserNumbering, type EncodedBlock } from '../encode/encoders.js';
import { allocLanes, blockFromLanes, copyRow, lanesOf, layoutOf, type Lanes, type Layout } from './lanes.js';

export interface ShuffleOptions {
  seed: number;
  /** Rows held for shuffling: larger mixes better, costs memory. A stream cannot be shuffled fully. */
  buffer: number;
}

export interface BatchOptions {
  batchSize: number;
  shuffle?: ShuffleOptions;
  /** Drop a final short batch (some training loops want equal sizes). */
  dropLast?: boolean;
}

/**
 * Regroups encoded blocks into fixed-size batches, optionally through a
 * seeded shuffle buffer: each incoming row swaps with a random buffered
 * one, which goes out; the rest leave in random order at the end. Ordered
 * mode keeps file order (evaluation and scoring).
 */
export async function* batches(blocks: AsyncIterable<EncodedBlock>, options: BatchOptions): AsyncGenerator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const rand = options.shuffle ? mulberry32(options.shuffle.seed) : undefined;
  const capacity = options.shuffle ? Math.max(1, Math.floor(options.shuffle.buffer)) : 0;
  const users = new UserNumbering();
  let layout: Layout | undefined;
  let out: Lanes | undefined;
  let filled = 0;
  let buffer: Lanes | undefined;
  let buffered = 0;

  const finish = (size: number): Batch => {
    const { rawUsers, ...batch } = blockFromLanes(layout!, out!, size);
    if (rawUsers) batch.userIds = users.number(rawUsers);
    out = allocLanes(layout!, batchSize);
    filled = 0;
    return batch;
  };

  for await (const block of blocks) {
    if (block.size === 0) continue;
    if (!layout) {
      layout = layoutOf(block);
      out = allocLanes(layout, batchSize);
      if (rand) buffer = allocLanes(layout, capacity);
    }
    const src = lanesOf(layout, block);
    for (let i = 0; i < block.size; i++) {
      if (!rand) {
        copyRow(src, i, out!, filled++);
      } else if (buffered < capacity) {
        copyRow(src, i, buffer!, buffered++);
        continue;
      } else {
        const j = Math.floor(rand() * capacity);
        copyRow(buffer!, j, out!, filled++);
        copyRow(src, i, buffer!, j);
      }
      if (filled === batchSize) yield finish(batchSize);
    }
  }
  if (!layout) return;
  if (rand) {
    // Drain in a random order (Fisher–Yates over the buffered rows).
    const order = Array.from({ length: buffered }, (_, k) => k);
    for (let k = buffered - 1; k > 0; k--) {
      const r = Math.floor(rand() * (k + 1));
      [order[k], order[r]] = [order[r]!, order[k]!];
    }
    for (const k of order) {
      copyRow(buffer!, k, out!, filled++);
      if (filled === batchSize) yield finish(batchSize);
    }
  }
  if (filled > 0 && !options.dropLast) yield finish(filled);
}
