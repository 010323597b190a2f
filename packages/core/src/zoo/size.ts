import { sizeOf } from '../ir/shape.js';
import type { ZooModel } from './model.js';

/**
 * The most elements one parameter may have: a Float32Array (and an ONNX
 * tensor handed to onnxruntime) holds at most 2^31 − 1 of them here.
 */
export const MAX_PARAM_ELEMENTS = 2 ** 31 - 1;

/** Training holds each weight four times over: itself, its gradient and Adam's two moments. */
const TRAINING_COPIES = 4;

const gb = (bytes: number) => `${(bytes / 2 ** 30).toPrecision(3)} GiB`;

/** The config key a parameter's size comes from, as the fit config and the flags spell it. */
function keyOf(name: string): string {
  if (name.includes('emb/')) return "model.embeddingDim (--embedding-dim) or the field's own embeddingDim, times its vocabulary or hash buckets";
  if (name.includes('numeric/')) return 'model.numericDim';
  return 'model.towers (--towers)';
}

/**
 * Refuses a model too big to train here before any weight is allocated (an
 * `embeddingDim: 100000000` would otherwise end in "Invalid typed array
 * length" or an out-of-memory crash): a parameter beyond MAX_PARAM_ELEMENTS,
 * or weights that with their gradients and Adam moments need more than
 * `memoryBytes`. The message names the parameter, the config key behind it
 * and the memory it would need.
 */
export function checkModelSize(model: ZooModel, memoryBytes: number): void {
  let total = 0;
  let largest: { name: string; shape: number[]; size: number } | undefined;
  for (const p of model.graph.params) {
    const shape = p.type.shape as number[];
    const size = sizeOf(shape);
    total += size;
    if (largest === undefined || size > largest.size) largest = { name: p.name, shape, size };
  }
  if (largest === undefined) return;
  const what = `parameter '${largest.name}' [${largest.shape.join(' × ')}] (from ${keyOf(largest.name)})`;
  if (largest.size > MAX_PARAM_ELEMENTS) {
    throw new Error(`the model is too big: ${what} has ${largest.size.toExponential(2)} weights (${gb(largest.size * 4)} as float32), more than one tensor can hold (${MAX_PARAM_ELEMENTS}); make it smaller`);
  }
  const need = total * 4 * TRAINING_COPIES;
  if (need > memoryBytes) {
    throw new Error(
      `the model is too big: ${total.toExponential(2)} weights would need about ${gb(need)} to train (weights, gradients and Adam's two moments, float32), ` +
        `more than this machine's ${gb(memoryBytes)}; the largest is ${what}`,
    );
  }
}
