/** Moved to @esm2/core (the onnx training engine's gradient workers start the same way); re-exported for this package's modules. */
export { startModuleWorker, type ModuleResolver } from '@esm2/core/node';
