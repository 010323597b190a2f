/**
 * @esm2/core/node: the Node runtime half of core, every module that imports
 * a Node built-in. Safe output files (atomic writes, same-path refusal, temp
 * registry), input reads, artifact files on disk, process spawning and
 * module workers. The framework-free rest is `@esm2/core`.
 */
export * from './fs/index.js';
export { modelJsonChecksum, modelJsonText } from './artifact/checksum.js';
export { encodeArtifact, writeArtifact } from './artifact/write.js';
export { readArtifact } from './artifact/read.js';
export { locateArtifact, locateWarmStart, BEST_ARTIFACT_DIR, CHECKPOINT_DIR } from './artifact/locate.js';
export { startModuleWorker, type ModuleResolver } from './worker-thread.js';
export { DEFAULT_PYTHON, pythonPath, runCommand, type CommandExit, type RunCommandOptions } from './child-process.js';
