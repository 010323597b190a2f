import { onnxEngineFactory, type OnnxEngineOptions } from '@esm2/backend-onnx';
import type { EngineFactory, TrainingEngine } from '@esm2/core';
import { SPECIFICATION_VERSION, type EpochBackendDescriptor, type EpochModel, type EpochRun, type EpochTrainer, type EpochTrainerFactory } from '@esm2/core/backend';
import { isEncodedDir } from '@esm2/data';
import { trainTorchEpochs, type TorchEpoch } from './fit.js';
import { torchInfo } from './run.js';

/**
 * The torch backend's run-time settings: torchrun's launch (one python
 * process without `nprocPerNode`) and the mid-epoch checkpoints.
 */
export interface TorchBackendOptions {
  /** Ranks on this machine (torchrun's --nproc_per_node); default 1. */
  nprocPerNode?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Times torchrun restarts the group after a rank fails; it resumes from the last (mid-epoch) checkpoint. */
  maxRestarts?: number;
  /** Steps between mid-epoch checkpoints a restarted group resumes from (default DEFAULT_CHECKPOINT_EVERY; 0: epoch ends only). */
  checkpointEvery?: number;
  /** Extra environment of the python processes. */
  env?: Record<string, string>;
}

export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** What the torch descriptor's `create` takes: its own options under `torch`, and those of the onnx engine that scores its epochs. */
export type TorchDescriptorOptions = OnnxEngineOptions & { torch?: TorchBackendOptions };

/**
 * `--backend torch`: an epoch trainer (@esm2/core/backend) whose epochs
 * PyTorch trains under torchrun, validated by the onnx engine.
 */
export const backend: EpochBackendDescriptor<TorchDescriptorOptions> = {
  specificationVersion: SPECIFICATION_VERSION,
  name: 'torch',
  description: 'PyTorch in python (one process, or torchrun ranks with gloo) from encoded shards; epochs validated by the onnx engine',
  kind: 'epochs',
  options: {
    torch: "torchrun's launch (nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, maxRestarts), checkpointEvery and the python processes' env",
    workers: 'onnx sessions of the scoring engine computing shares of a batch concurrently',
    threads: 'intra-op threads of each scoring onnx session',
    spinning: 'whether the scoring onnx sessions spin waiting for work',
  },
  create: (options) => torchTrainerFactory(options.torch ?? {}, onnxEngineFactory(options)),
};

/**
 * The torch backend as an epoch trainer: the ranks train every epoch from
 * the run's encoded shards under torchrun (trainTorchEpochs, in the run's
 * scratch directory), and each epoch's weights are scored by `scoring` (the
 * onnx engine) for validation — the project's metrics, the same code as
 * every backend's.
 */
export function torchTrainerFactory(options: TorchBackendOptions, scoring: EngineFactory): EpochTrainerFactory {
  const launched = options.nprocPerNode !== undefined || options.nnodes !== undefined || options.maxRestarts !== undefined;
  const ranks = (options.nprocPerNode ?? 1) * (options.nnodes ?? 1);
  return {
    kind: 'epochs',
    name: 'torch',
    scoring,
    async check(settings) {
      if (!(await isEncodedDir(settings.data))) {
        throw new Error(
          `--backend torch reads encoded shards, and ${settings.data} is not a \`data encode\` directory: encode it first (esm2-train data encode --in ${settings.data} --out DIR --shards N) and give that DIR as --data`,
        );
      }
      await torchInfo(); // TorchMissingError (naming python3-torch) before any data is read
    },
    create(run: EpochRun): Promise<EpochTrainer> {
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
          const epochs = [];
          for (let e = position.epoch + 1; e <= run.epochs; e++) epochs.push({ epoch: e, seed: run.seed(e) });
          if ((options.nodeRank ?? 0) > 0) {
            run.reporter?.log?.(`node ${options.nodeRank} hosts ranks only: rank 0 (on node 0) trains what node 0's fit asked for and writes the run there; this run directory gets no epochs`);
          }
          let current = position.epoch + 1;
          run.reporter?.epochStart?.(current, run.epochs, position.trainRows);
          const trained = trainTorchEpochs(
            {
              model: run.model,
              weights: run.weights,
              ...(run.state ? { state: run.state } : {}),
              step: position.step,
              optimizer: run.optimizer,
              data: run.data,
              batchSize: run.batchSize,
              epochs,
              dir: run.scratchDir,
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
                  run.reporter?.epochStart?.(current, run.epochs, position.trainRows);
                }
                run.reporter?.step?.(p.rows, p.loss);
              },
            },
          );
          for await (const epoch of trained) {
            release();
            position.step = epoch.step;
            position.trainRows = epoch.rows;
            yield { epoch: epoch.epoch, losses: epoch.losses, rows: epoch.rows, seconds: epoch.seconds, model: await modelOf(epoch) };
            if (epoch.epoch < run.epochs && current !== epoch.epoch + 1) {
              current = epoch.epoch + 1;
              run.reporter?.epochStart?.(current, run.epochs, position.trainRows);
            }
          }
        },
        dispose: release,
      });

      /** An epoch's weights and state, predicting with a scoring engine made from them. */
      async function modelOf(epoch: TorchEpoch): Promise<EpochModel> {
        scorer = await scoring.create({ model: run.model, weights: epoch.weights, optimizer: run.optimizer });
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
