import { torchInfo, trainTorchEpochs, type TorchEpoch } from '@esm2/backend-torch';
import type { EngineFactory, TrainingEngine } from '@esm2/core';
import { isEncodedDir } from '@esm2/data';
import { join } from 'node:path';
import { epochSeed } from './data-source.js';
import { epochRecord, type EpochModel, type EpochTrainer, type EpochTrainerFactory, type FitRun } from './loop.js';
import type { FitSettings } from './settings.js';
import { DEFAULT_CHECKPOINT_EVERY, type TorchBackendOptions } from './torch-options.js';


/**
 * The torch backend as the loop's epoch trainer: the ranks train every
 * epoch from the run's encoded shards under torchrun (@esm2/backend-torch's
 * trainTorchEpochs, in `<run>/torch`), and each epoch's weights are scored
 * by `scoring` (the onnx engine) for validation — the project's metrics,
 * the same code as every backend's.
 */
export function torchTrainerFactory(options: TorchBackendOptions, scoring: EngineFactory): EpochTrainerFactory {
  const launched = options.nprocPerNode !== undefined || options.nnodes !== undefined || options.maxRestarts !== undefined;
  const ranks = (options.nprocPerNode ?? 1) * (options.nnodes ?? 1);
  return {
    kind: 'epochs',
    name: 'torch',
    scoring,
    async check(settings: FitSettings) {
      if (!(await isEncodedDir(settings.train))) {
        throw new Error(
          `--backend torch reads encoded shards, and ${settings.train} is not a \`data encode\` directory: encode it first (esm2-train data encode --in ${settings.train} --out DIR --shards N) and give that DIR as --data`,
        );
      }
      await torchInfo(); // TorchMissingError (naming python3-torch) before any data is read
    },
    create(run: FitRun): Promise<EpochTrainer> {
      let scorer: TrainingEngine | undefined;
      const release = () => {
        scorer?.dispose();
        scorer = undefined;
      };
      const description = `PyTorch ${launched ? `under torchrun, ${ranks} rank(s) (gloo)` : 'in one python process'}; validation scored by ${scoring.name}`;
      return Promise.resolve({
        name: 'torch',
        description,
        async *epochs(position) {
          const { settings } = run;
          const epochs = [];
          for (let e = position.epoch + 1; e <= settings.epochs; e++) epochs.push({ epoch: e, seed: epochSeed(settings, e) });
          if ((options.nodeRank ?? 0) > 0) {
            run.reporter?.log?.(`node ${options.nodeRank} hosts ranks only: rank 0 (on node 0) trains what node 0's fit asked for and writes the run there; this run directory gets no epochs`);
          }
          let current = position.epoch + 1;
          run.reporter?.epochStart?.(current, settings.epochs, position.trainRows);
          const trained = trainTorchEpochs(
            {
              model: run.model,
              weights: run.start.weights,
              ...(run.start.state ? { state: run.start.state } : {}),
              step: position.step,
              optimizer: settings.optimizer,
              data: settings.train,
              batchSize: settings.batchSize,
              epochs,
              dir: join(run.paths.dir, 'torch'),
              checkpointEvery: options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
            },
            {
              ...(launched
                ? {
                    launch: {
                      nprocPerNode: options.nprocPerNode ?? 1,
                      ...(options.nnodes !== undefined ? { nnodes: options.nnodes } : {}),
                      ...(options.nodeRank !== undefined ? { nodeRank: options.nodeRank } : {}),
                      ...(options.masterAddr !== undefined ? { masterAddr: options.masterAddr } : {}),
                      ...(options.masterPort !== undefined ? { masterPort: options.masterPort } : {}),
                      ...(options.maxRestarts !== undefined ? { maxRestarts: options.maxRestarts } : {}),
                    },
                  }
                : {}),
              ...(options.env ? { env: options.env } : {}),
              onLog: (message) => run.reporter?.log?.(message),
              onProgress: (p) => {
                if (p.epoch !== current) {
                  current = p.epoch;
                  run.reporter?.epochStart?.(current, settings.epochs, position.trainRows);
                }
                run.reporter?.step?.(p.rows, p.loss);
              },
            },
          );
          for await (const epoch of trained) {
            release();
            position.step = epoch.step;
            position.trainRows = epoch.rows;
            if (!Number.isFinite(epoch.losses.loss)) {
              throw new Error(`training diverged: loss is ${epoch.losses.loss} in epoch ${epoch.epoch}; lower --lr or set optimizer.clipNorm`);
            }
            yield { record: epochRecord(epoch.epoch, epoch.losses, epoch.rows, epoch.seconds), model: await modelOf(epoch) };
            if (epoch.epoch < settings.epochs && current !== epoch.epoch + 1) {
              current = epoch.epoch + 1;
              run.reporter?.epochStart?.(current, settings.epochs, position.trainRows);
            }
          }
        },
        dispose: release,
      });

      /** An epoch's weights and state, predicting with a scoring engine made from them. */
      async function modelOf(epoch: TorchEpoch): Promise<EpochModel> {
        scorer = await scoring.create({ model: run.model, weights: epoch.weights, optimizer: run.settings.optimizer });
        const engine = scorer;
        return {
          description,
          predict: (feeds, outputs) => engine.predict(feeds, outputs),
          getWeights: () => epoch.weights,
          getState: () => epoch.state,
        };
      }
    },
  };
}
