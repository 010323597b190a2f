/** Safe output files: atomic and durable writes, signal-time temp cleanup, refusal of outputs that are inputs. */
export {
  AtomicOutput,
  checkOutputPath,
  fsyncDir,
  interruptedSwapDir,
  leftoverDirs,
  replaceDirAtomically,
  tempSibling,
  withAtomicOutput,
  withAtomicOutputs,
  withStagedOutputs,
  writeFileAtomic,
  writeFileDurable,
  writeJsonAtomic,
  type PositionalWrite,
} from './atomic.js';
export { readIfExists } from './read.js';
export { artifactInputs, refuseInsideDirs, refuseSamePaths, samePathGroups, SamePathError, type NamedPath } from './same-path.js';
export { liveTemps, trackTemp } from './temp-registry.js';
export { asWriteError, WriteError } from './write-error.js';
