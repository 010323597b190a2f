/**
 * @esm2/backend-torch: the ESM2 model IR executed by PyTorch. A Python
 * package shipped inside this one (python/esm2_torch: one lowering table
 * keyed by op, the graph runner, a request server) runs a graph's JSON with
 * torch ops; torch's autograd gives gradients. The first brick of the torch
 * training backend (issue 13). `backend` is its descriptor (@esm2/core/backend):
 * `esm2-train fit --backend torch`.
 */
export { backend, DEFAULT_CHECKPOINT_EVERY, torchTrainerFactory, type TorchBackendOptions, type TorchDescriptorOptions } from './backend.js';
export { TORCH_INSTALL_HINT, TorchMissingError, TorchRunError } from './errors.js';
export { freePort, resolveLaunch, type TorchLaunch } from './launch.js';
export { openblasCoretype } from './openblas.js';
export { DEFAULT_PYTHON, PYTHON_DIR, runPythonModule, torchPython, type PythonModuleOptions, type TorchOptions } from './python.js';
export { runTorchGraph, runTorchGraphs, torchInfo, type TorchGrads, type TorchResult, type TorchRun, type TorchRunOptions } from './run.js';
export { type TorchTensor } from './tensors.js';
export { torchCompiler } from './graph-compiler.js';
export { trainTorchEpochs, type TorchEpoch, type TorchFitOptions, type TorchFitRequest } from './fit.js';
export { trainTorch, trainTorchRuns, type TorchTrainOptions, type TorchTraining, type TorchTrainRun } from './train.js';
