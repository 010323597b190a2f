export { findEmbeddingLookups, splitEmbeddings, rowsInputName, type EmbeddingLookups, type HostLookup, type HostTable, type SplitGraph } from './split-embeddings.js';
export { SparseEmbeddingTable, embeddingStep, gatherPooledRows, gatherRows } from './sparse-table.js';
export { adamUpdate, adagradUpdate, adamScalars, clipScale } from './adam.js';
export { buildTrainStep, trainStepNames, type TrainStep } from './train-step.js';
export { HostEmbeddingEngine, interpretCompiler, buildPredictGraph, type GraphCompiler, type GraphRunner } from './host-engine.js';
export { buildShardedStep, shardedStepNames, type ShardedStep, type ShardDenominator } from './sharded-step.js';
export { applyDenseRange, denseRange, denseState, memory, runnerPool, shardSquares, type DenseState, type ShardGradients, type ShardPool, type ShardPoolFactory } from './shard-pool.js';
export { STATE_KEYS, restoreEngineState, saveEngineState, type OptimizerStateLayout } from './engine-state.js';
export { checkInitialWeights } from './initial-weights.js';
