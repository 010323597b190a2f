/** Safe output files: atomic and durable writes, signal-time temp cleanup, refusal of outputs that are inputs. */
export {
  AtomicOutput,
  checkOutputPath,
  withAtomicOutput,
  withAtomicOutputs,
  withStagedOutputs,
  writeFileAtomic,
  writeJsonAtomic,
  type PositionalWrite,
} from './atomic.js';
export { interruptedSwapDir, leftoverDirs, replaceDirAtomically, writeFileDurable } from './dir-swap.js';
export { fsyncDir } from './primitives.js';
export { sweepStaleTemps, tempSibling } from './temp-name.js';
export { readFailure, readIfExists, readInputFile } from './read.js';
export { artifactInputs, namedPath, NestedPathError, refuseInsideDirs, refuseSamePaths, samePathGroups, SamePathError, type NamedPath } from './same-path.js';
export { isProcessRunning, liveTemps, trackTemp } from './temp-registry.js';
export { asWriteError, WriteError } from './write-error.js';
