/**
 * @esm2/backend-tfjs: compiles the ESM2 IR to TensorFlow.js and trains it
 * (tfjs autograd for the passes; dense Adam and sparse Adam/Adagrad on the host, core's adamRange).
 * Implements core's TrainingEngine; the trainer picks it as `tfjs` through
 * `backend`, its descriptor (@esm2/core/backend).
 */
export { backend } from './backend.js';
export { tfjsEngineFactory, type TfjsEngineOptions } from './factory.js';
export { TfjsEngine } from './engine.js';
export { CompiledGraph } from './compile.js';
export { tfjsCompiler } from './graph-compiler.js';
export type { Lowering } from './lowerings.js';
export { selectTfBackend, type TfRuntime } from './runtime.js';
export type { Gradients } from './engine.js';
