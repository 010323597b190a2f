export { splitEmbeddings, rowsInputName, type HostLookup, type SplitGraph } from './split-embeddings.js';
export { SparseEmbeddingTable } from './sparse-table.js';
export { adamUpdate, adagradUpdate, clipScale } from './adam.js';
export { buildTrainStep, adamScalars, trainStepNames, type TrainStep } from './train-step.js';
