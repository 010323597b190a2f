import type { Batch } from '../batch.js';
import type { Encoders } from '../encode/encoders.js';
import { batches, type ShuffleOptions } from './batcher.js';
import { encodedStream, type EncodedStreamOptions } from './encoded-stream.js';

export interface DatasetOptions extends EncodedStreamOptions {
  encoders: Encoders;
  batchSize: number;
  /** Training: seeded buffer shuffle. Omit for evaluation and scoring (file order). */
  shuffle?: ShuffleOptions;
  dropLast?: boolean;
}

/**
 * A file as batches, re-readable: each iteration streams the file again
 * (one epoch), so nothing larger than the shuffle buffer is held. With a
 * shuffle, epoch k uses seed + k so epochs differ but runs reproduce.
 */
export function openDataset(path: string, options: DatasetOptions): AsyncIterable<Batch> {
  let epoch = 0;
  return {
    [Symbol.asyncIterator]() {
      const shuffle = options.shuffle ? { ...options.shuffle, seed: options.shuffle.seed + epoch++ } : undefined;
      const blocks = encodedStream(path, options.encoders, options);
      return batches(blocks, { batchSize: options.batchSize, shuffle, dropLast: options.dropLast })[Symbol.asyncIterator]();
    },
  };
}
