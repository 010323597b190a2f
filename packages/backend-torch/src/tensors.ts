/**
 * Tensor exchange with python: each tensor a raw little-endian file in a
 * request directory, described in its JSON by a TensorSpec.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DType, Graph, HostTensor, Weights } from '@esm2/core';
import { TorchRunError } from './errors.js';

/** A tensor as torch returns it: f32 values as Float32Array, i32 ones as Int32Array. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** A tensor of a request: its raw file (relative to the request directory), dtype and shape. */
export interface TensorSpec {
  file: string;
  dtype: DType;
  shape: number[];
}

/** Writes a tensor as a raw little-endian file of `dtype` (converting the values if needed) and returns its spec. */
export async function writeTensor(dir: string, file: string, name: string, t: HostTensor, dtype: DType): Promise<TensorSpec> {
  const data = dtype === 'i32' ? (t.data instanceof Int32Array ? t.data : Int32Array.from(t.data)) : t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  const size = t.shape.reduce((n, d) => n * d, 1);
  if (data.length !== size) throw new TorchRunError(`'${name}' has ${data.length} elements for shape [${t.shape.join(',')}]`);
  await writeFile(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { file, dtype, shape: [...t.shape] };
}

/** Writes every parameter of `graph` from `weights` as `PREFIX-param-K.bin` (f32) and returns their specs by name; a missing one is an error naming it. */
export async function writeWeights(dir: string, prefix: string, graph: Graph, weights: Weights): Promise<Record<string, TensorSpec>> {
  const specs: Record<string, TensorSpec> = {};
  for (const [k, p] of graph.params.entries()) {
    const w = weights.get(p.name);
    if (!w) throw new TorchRunError(`no initial weights for parameter '${p.name}'`);
    specs[p.name] = await writeTensor(dir, `${prefix}-param-${k}.bin`, p.name, { shape: p.type.shape as number[], data: w }, 'f32');
  }
  return specs;
}

/** The parameters of `graph` among tensors read back (readTensors), as Weights. */
export function weightsOf(graph: Graph, tensors: Record<string, TorchTensor>): Weights {
  return new Map(graph.params.map((p) => [p.name, tensors[p.name]!.data as Float32Array]));
}

/** Reads a response's tensors (f32 as Float32Array, i32 as Int32Array). */
export async function readTensors(dir: string, specs: Record<string, TensorSpec>): Promise<Record<string, TorchTensor>> {
  const out: Record<string, TorchTensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const bytes = await readFile(join(dir, spec.file));
    // A copy into a fresh (aligned) buffer: a Buffer's offset need not be a multiple of 4.
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    out[name] = { shape: spec.shape, data: spec.dtype === 'i32' ? new Int32Array(buffer) : new Float32Array(buffer) };
  }
  return out;
}
