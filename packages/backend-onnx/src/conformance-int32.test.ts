import type { GraphCompiler } from '@esm2/core';
import { runConformance } from '@esm2/core/conformance';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, it } from 'vitest';
import { compileGraph } from './lower/compile.js';
import { modelProto } from './lower/model.js';
import { encodeModel } from './proto/codec.js';
import { DataType } from './proto/types.js';
import { ortSessionOptions, toOrtTensor } from './runtime/session.js';

/**
 * Graphs compiled with int32 ids (what the scoring export writes), fed as
 * OnnxSession feeds them (toOrtTensor: each Int32Array of ids as it is):
 * every op, the ones that take ids included (Gather, pooled lookups with
 * their padding mask, ScatterND behind a Cast, a reshape of ids), against
 * the interpreter.
 */
const int32Ids: GraphCompiler = async (graph) => {
  const proto = compileGraph(graph, new Map(), { idType: 'int32' });
  const ids = graph.inputs.filter((i) => i.type.dtype === 'i32').map((i) => i.name);
  const wrong = proto.input.filter((v) => ids.includes(v.name) && v.type.tensor_type.elem_type !== DataType.INT32);
  if (wrong.length > 0) throw new Error(`id inputs ${wrong.map((v) => v.name).join(', ')} are not int32`);
  const session = await ort.InferenceSession.create(encodeModel(modelProto(proto)), ortSessionOptions({}));
  const types = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'non-tensor']));
  return {
    async run(feeds, outputs) {
      const result = await session.run(Object.fromEntries([...types].map(([name, type]) => [name, toOrtTensor(name, type, feeds[name]!)])), outputs);
      // An id output (a reshape of ids) is int32: as numbers.
      return Object.fromEntries(outputs.map((o) => [o, result[o]!.data instanceof Int32Array ? Float64Array.from(result[o]!.data) : (result[o]!.data as Float32Array)]));
    },
    release: () => void session.release(),
  };
};

runConformance({ name: 'backend-onnx with int32 ids (OnnxSession)', compile: int32Ids }, { test: { describe, it, beforeAll }, parts: ['forward', 'gradients'] });
