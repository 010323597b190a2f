/** Safe output files: atomic and durable writes, signal-time temp cleanup, refusal of outputs that are inputs. */
export {
  AtomicOutput,
  checkOutputPath,
  fsyncDir,
  interruptedSwapDir,
  leftoverDirs,
  replaceDirAtomically,
  sweepStaleTemps,
  tempSibling,
  withAtomicOutput,
  withAtomicOutputs,
  withStagedOutputs,
  writeFileAtomic,
  writeFileDurable,
  writeJsonAtomic,
  type PositionalWrite,
} from './atomic.js';
export { readFailure, readIfExists, readInputFile } from './read.js';
export { artifactInputs, NestedPathError, refuseInsideDirs, refuseSamePaths, samePathGroups, SamePathError, type NamedPath } from './same-path.js';
export { isProcessRunning, liveTemps, trackTemp } from './temp-registry.js';
export { asWriteError, WriteError } from './write-error.js';
