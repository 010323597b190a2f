import { DEFAULT_OPTIMIZER, type OptimizerConfig } from '@esm2/core';
import { selectTfBackend, type TfRuntime } from '../runtime.js';

export const DEFAULT_TEST_OPTIMIZER: OptimizerConfig = { ...DEFAULT_OPTIMIZER };

/** Tests run on the plain cpu backend (the one every machine has), quietly. */
export function cpuRuntime(): Promise<TfRuntime> {
  process.env.ESM2_TFJS_BACKEND = 'cpu';
  return selectTfBackend(() => {});
}
