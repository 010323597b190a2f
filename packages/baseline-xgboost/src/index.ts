export {
  evaluateGbdt,
  META_FILE,
  predictGbdt,
  readGbdtMeta,
  scoreGbdt,
  trainGbdt,
  type GbdtModelMeta,
  type GbdtModelSummary,
  type GbdtParams,
  type GbdtParamsInput,
  type GbdtPredictions,
  type PredictGbdtOptions,
  type TrainGbdtOptions,
} from './gbdt.js';
export { batchMatrix, gbdtColumns, type GbdtColumn } from './matrix.js';
export { INSTALL_HINT, XgboostMissingError, XgboostRunError } from './python.js';
export { DEFAULT_PYTHON } from '@esm2/core/node';
