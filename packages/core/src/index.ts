/**
 * @esm2/core: the framework-free heart of the project. The model graph as a
 * small typed IR with a reference interpreter, the model zoo built on it,
 * exact metrics with ESM2's evaluation conventions, and the artifact format
 * every backend reads and writes. Nothing reachable from here imports a
 * Node built-in (index.test.ts checks it): file, process and worker helpers
 * are in `@esm2/core/node` (node.ts).
 */
export * from './ir/index.js';
export {
  COMPOSITE_OPS,
  OPS,
  PRIMITIVE_OPS,
  opRecord,
  type CompositeOp,
  type Decomposition,
  type Emitter,
  type ExampleOperand,
  type Kernel,
  type OpExample,
  type OpRecord,
  type PrimitiveOp,
  type TypeRule,
} from './ops/index.js';
export { decomposeComposites } from './ops/decompose.js';
export * from './schema.js';
export * from './zoo/index.js';
export * from './metrics/index.js';
export * from './artifact/index.js';
export { HOST_LITTLE_ENDIAN, littleEndianBytes, requireLittleEndianHost, swapBytes32, type RawTypedArray } from './little-endian.js';
export { checkSeed, hashString, mulberry32, normalSampler, SEED_MAX, seedProblem } from './random.js';
export { zodProblems } from './zod-problems.js';
export * from './engine.js';
export * from './autodiff/index.js';
export * from './train/index.js';
