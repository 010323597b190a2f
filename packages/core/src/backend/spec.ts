/**
 * @esm2/core/backend — the backend specification, version 1: everything a
 * training backend implements and everything the trainer promises it, in one
 * types-only module (its one value is SPECIFICATION_VERSION). A backend
 * package exports a `backend` constant of type BackendDescriptor; the trainer's
 * registry (apps/trainer/src/train/engines.ts) lists those. docs/backends.md
 * walks through writing one; packages/core/src/backend/interpreter.ts is the
 * smallest complete one.
 *
 * The contract, from the bottom up:
 *
 * 1. The op set (`OpName`, `OpAttrs`, `Graph`): a closed set of ops over f32
 *    and i32 tensors, one record per op in packages/core/src/ops/<op>.ts
 *    (`OPS` in @esm2/core): its attribute schema (the zod schema is the
 *    type), its type rule, its reference kernel (what `interpret` computes,
 *    in f64), its backward rule and, for a composite, its decomposition into
 *    other ops. A backend lowers every op in `PRIMITIVE_OPS` and may leave
 *    any composite to `decomposeComposites(graph, lowered)`: gradients and
 *    the optimizer are ops too, so a backend that runs graphs trains.
 * 2. A GraphCompiler: a graph (no parameters: weights and optimizer state are
 *    inputs) to a GraphRunner. That is the smallest backend: core's
 *    HostEmbeddingEngine builds the training step graph (buildTrainStep),
 *    keeps embedding tables on the host and the dense state in flat vectors,
 *    and runs the step with the runner — a TrainingEngine for free.
 * 3. A TrainingEngine (made by an EngineFactory): one optimizer step on a
 *    batch, predictions, weights and optimizer state. The trainer's loop
 *    drives it batch by batch (kind `steps`). A backend may implement it
 *    itself (tfjs: its own step and optimizer) instead of handing a compiler
 *    to HostEmbeddingEngine.
 * 4. An EpochTrainer (made by an EpochTrainerFactory): a backend that trains
 *    whole epochs itself, out of process (torch under torchrun), and hands
 *    each epoch's model back (kind `epochs`); a step engine (`scoring`)
 *    validates what it trained.
 *
 * How a backend proves itself: `runConformance({ name, compile })` from
 * `@esm2/core/conformance` runs the op set, the zoo models, their gradients
 * and training steps against the interpreter.
 *
 * Versioning: a change a backend must follow (a new op, a new member to
 * implement, a changed meaning) is a new SPECIFICATION_VERSION; the trainer
 * refuses a descriptor of a version it does not read.
 */

import type { EngineFactory, EngineState, OptimizerConfig, TrainingEngine, Weights, ZooModel } from '../index.js';

/** The version of this specification; every BackendDescriptor carries it. */
export const SPECIFICATION_VERSION = 'v1' as const;
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

// 1. The op set. One record per op: packages/core/src/ops/<op>.ts (kernel = semantics, type rule = shapes).
export type {
  /** A graph: typed inputs, parameters with their initializers, topologically ordered nodes, named outputs. */
  Graph,
  GraphInput,
  Param,
  Initializer,
  /** One equation: `id = op(inputs; attrs)` with its result type. */
  Node,
  /** The closed op set (the values of `OP_NAMES`). */
  OpName,
  /** The attributes of each op, by name. */
  OpAttrs,
  Attrs,
  TensorType,
  DType,
  Dim,
  /** Host tensors: f32 data as Float32Array (f64 accepted by the interpreter), i32 as Int32Array, row-major. */
  HostTensor,
  /** Parameters by name, each a row-major Float32Array of its type's shape. */
  Weights,
} from '../index.js';

// 2. Compiling graphs.
export type {
  /** How a backend turns a graph (no params: everything is an input) into a runner. */
  GraphCompiler,
  /** Runs one compiled graph: feeds in, named outputs out (written into `into` buffers when given, and returned as them). */
  GraphRunner,
} from '../index.js';

// 3. Step engines.
export type {
  /** One optimizer step per call, predictions, weights and optimizer state (packages/core/src/engine.ts). */
  TrainingEngine,
  /** Makes a TrainingEngine for a model, its starting weights and the optimizer. */
  EngineFactory,
  /** What EngineFactory.create gets: the model (graph, losses, predictions), its weights, the optimizer. */
  EngineOptions,
  /** Adam on dense parameters; Adam or Adagrad on the embedding rows a batch touched; L2 and global-norm clipping. */
  OptimizerConfig,
  /** The value of every loss output on the batch, before the update. */
  StepResult,
  /** Tensors an engine needs to resume exactly (optimizer moments, step counters: core's STATE_KEYS). */
  EngineState,
  /** One state tensor as an artifact stores it. */
  StateTensor,
  /** A model of the zoo: its graph, predictions, towers and loss outputs. */
  ZooModel,
} from '../index.js';

// 4. Epoch trainers.

/**
 * What an epoch trainer is asked to train, known before any data is read
 * (EpochTrainerFactory.check sees only this).
 */
export interface EpochRunSettings {
  /** The training data: a `data encode` directory (encoded shards) or a data file; a backend refuses in `check` what it does not read. */
  data: string;
  /** Rows per (global) batch. */
  batchSize: number;
  /** The last epoch to train (1-based): an epoch trainer trains the epochs after its position's up to this one. */
  epochs: number;
  optimizer: OptimizerConfig;
}

/** What an epoch trainer says on the way; all optional (progress bars, logs). */
export interface EpochReporter {
  /** Epoch `epoch` of `epochs` starts; `rows` is its row count when known (after the first epoch). */
  epochStart?(epoch: number, epochs: number, rows: number | undefined): void;
  /** Running progress of the epoch: rows done and the latest step's loss. */
  step?(rows: number, loss: number): void;
  log?(message: string): void;
}

/** One run of an epoch trainer: the settings, the model and where it starts. */
export interface EpochRun extends EpochRunSettings {
  model: ZooModel;
  /** The weights to start from, every parameter (fresh, or a checkpoint's). */
  weights: Weights;
  /** The optimizer state to continue (a checkpoint's); absent for a new run. */
  state?: EngineState;
  /**
   * The shuffle seed of epoch `epoch` (1-based). Every backend's epoch order
   * comes from it, so a resumed run sees the epochs a whole one would have.
   */
  seed(epoch: number): number;
  /** A scratch directory of this run the backend may own (emptied, filled, removed as it likes); inside the run's directory. */
  scratchDir: string;
  reporter?: EpochReporter;
}

/**
 * Where the run is, as the trainer keeps it (its checkpoint's position holds
 * more). An epoch trainer reads `epoch` and `step` and sets `step` and
 * `trainRows` as epochs end.
 */
export interface EpochPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken in all. */
  step: number;
  /** Rows of one training epoch, once known. */
  trainRows?: number;
}

/** What the trainer keeps of a trained epoch's model: it validates with `predict` and saves the weights and optimizer state. */
export type EpochModel = Pick<TrainingEngine, 'description' | 'predict' | 'getWeights' | 'getState'>;

/** One trained epoch: what it took and the model after it. */
export interface TrainedEpoch {
  /** Its number (1-based). */
  epoch: number;
  /** Mean over the epoch's rows of every loss output (`loss` and its parts). */
  losses: Record<string, number>;
  rows: number;
  /** Wall-clock seconds of its training. */
  seconds: number;
  model: EpochModel;
}

/**
 * A backend that trains whole epochs itself, out of the trainer's process
 * (torch under torchrun), and hands back each; the trainer validates and
 * saves them as it does a step engine's epochs.
 */
export interface EpochTrainer {
  readonly name: string;
  /** Human-readable detail of what runs underneath (saved with the run). */
  readonly description: string;
  /**
   * Trains the epochs after `position.epoch` up to the run's `epochs` and
   * yields each as it ends, having set `position.step` and
   * `position.trainRows`. Leaving the iteration early (an early stop) stops
   * the training. A model yielded stays valid until the next one is asked
   * for.
   */
  epochs(position: EpochPosition): AsyncIterable<TrainedEpoch>;
  dispose(): void;
}

/** What an epoch-driven backend's descriptor makes: it trains, and `scoring` scores what it trained. */
export interface EpochTrainerFactory {
  readonly kind: 'epochs';
  readonly name: string;
  /** The step engine that validates and evaluates its models (and scores with `--backend` set to it). */
  readonly scoring: EngineFactory;
  /** Refuses, before any data is read, what it cannot train (a machine without its runtime, data in a form it does not read). */
  check(settings: EpochRunSettings): Promise<void>;
  create(run: EpochRun): Promise<EpochTrainer>;
}

// 5. The descriptor.

interface DescriptorBase<Options> {
  /** The version of this specification the backend implements: SPECIFICATION_VERSION. */
  readonly specificationVersion: SpecificationVersion;
  /** Its `--backend` name (lower case, no spaces); the trainer's registry lists it under this name. */
  readonly name: string;
  /** One line for people: what trains underneath. */
  readonly description: string;
  /**
   * Every option `create` reads, with its one-line meaning: what the
   * trainer's flags must give it. Options are the backend's run-time
   * choices (threads, devices, launch), never saved with a run.
   */
  readonly options: { readonly [K in keyof Options]-?: string };
}

/** A backend the trainer drives batch by batch: it makes an EngineFactory. */
export interface StepBackendDescriptor<Options = object> extends DescriptorBase<Options> {
  readonly kind: 'steps';
  /** The factory with these options fixed (and checked: bad options fail here, before any data is read). */
  create(options: Options): EngineFactory;
}

/** A backend training whole epochs itself: it makes an EpochTrainerFactory. */
export interface EpochBackendDescriptor<Options = object> extends DescriptorBase<Options> {
  readonly kind: 'epochs';
  /** The factory with these options fixed (and checked: bad options fail here, before any data is read). */
  create(options: Options): EpochTrainerFactory;
}

/**
 * What a backend package exports as `backend`: its name, version of this
 * specification, and how to make its factory. `Options` is the backend's
 * own options object (all members optional: the trainer passes the ones its
 * flags give, and one object holding every backend's).
 */
export type BackendDescriptor<Options = object> = StepBackendDescriptor<Options> | EpochBackendDescriptor<Options>;
