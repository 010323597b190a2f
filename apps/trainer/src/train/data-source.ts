import { hashString } from '@esm2/core';
import { EncodedShards, encodedEpochs, isEncodedDir, prefetchDataset, type Batch, type Encoders } from '@esm2/data';
import { isDeepStrictEqual } from 'node:util';
import type { FitSettings } from './settings.js';

/** The loop's data: each epoch's training batches, and the validation batches. */
export interface RunData {
  trainBatches(epoch: number): AsyncIterable<Batch>;
  validBatches?(): AsyncIterable<Batch>;
}

/** The shuffle seed of epoch `epoch` (1-based): every engine's epoch order comes from it. */
export const epochSeed = (settings: Pick<FitSettings, 'seed'>, epoch: number) => hashString(`epoch-${epoch}`, settings.seed);

/** Rows per prediction batch in validation: bigger than training batches, since no gradients are kept. */
export const evalBatchSize = (s: FitSettings) => Math.max(s.batchSize, 4096);

/** The encoded-shards directory at `path`, described (manifest and encoders), when it is one. */
export async function describeEncoded(path: string): Promise<Awaited<ReturnType<typeof EncodedShards.describe>> | undefined> {
  return (await isEncodedDir(path)) ? EncodedShards.describe(path) : undefined;
}

/** Encoders as saved (JSON), compared whatever their key order. */
const sameEncoders = (a: unknown, b: unknown) => isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));

/** Refuses an encoded directory whose rows were encoded with other encoders than the run's: its ids would mean other categories. */
async function checkEncoders(dir: string, flag: string, runEncoders: unknown): Promise<void> {
  const described = await EncodedShards.describe(dir);
  if (!sameEncoders(described.encoders.toJSON(), runEncoders)) {
    throw new Error(`${flag} ${dir}: encoded with other encoders than this run's; encode the file again with the run's: esm2-train data encode --encoders <the training data's encoded directory or the run's best/>`);
  }
}

/**
 * Where each epoch's batches come from: a data file (streamed, encoded and
 * buffer-shuffled on a worker thread by prefetchDataset) or an encoded
 * directory (data encode: held in memory, a full permutation per epoch).
 * An encoded directory must hold rows encoded with the run's encoders, and
 * is read and checked here, once, before training (checksums, labels,
 * funnel, id ranges: EncodedShards.load) — the training directory only
 * when this process trains from it (`trainsHere`: an epoch trainer such as
 * the torch backend reads and checks the shards itself).
 */
export async function runData(settings: FitSettings, encoders: Encoders, runEncoders: unknown, trainsHere: boolean): Promise<RunData> {
  let trainBatches: RunData['trainBatches'];
  if (await isEncodedDir(settings.train)) {
    await checkEncoders(settings.train, '--data', runEncoders);
    const source = encodedEpochs(settings.train);
    if (trainsHere) await source.open();
    trainBatches = (epoch) => source({ batchSize: settings.batchSize, shuffle: { seed: epochSeed(settings, epoch) } });
  } else {
    trainBatches = (epoch) => prefetchDataset(settings.train, { encoders, batchSize: settings.batchSize, shuffle: { seed: epochSeed(settings, epoch), buffer: settings.shuffleBuffer } });
  }
  const valid = settings.valid;
  if (valid === undefined) return { trainBatches };
  if (await isEncodedDir(valid)) {
    await checkEncoders(valid, '--valid', runEncoders);
    const source = encodedEpochs(valid);
    await source.open();
    return { trainBatches, validBatches: () => source({ batchSize: evalBatchSize(settings) }) };
  }
  return { trainBatches, validBatches: () => prefetchDataset(valid, { encoders, batchSize: evalBatchSize(settings) }) };
}
