export { splitEmbeddings, rowsInputName, type HostLookup, type SplitGraph } from './split-embeddings.js';
export { SparseEmbeddingTable } from './sparse-table.js';
export { adamUpdate, adagradUpdate, adamScalars, clipScale } from './adam.js';
export { buildTrainStep, trainStepNames, type TrainStep } from './train-step.js';
export { HostEmbeddingEngine, STATE_KEYS, interpretCompiler, buildPredictGraph, type GraphCompiler, type GraphRunner } from './host-engine.js';
