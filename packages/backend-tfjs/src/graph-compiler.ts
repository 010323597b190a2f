import * as tf from '@tensorflow/tfjs';
import type { GraphCompiler } from '@esm2/core';
import { CompiledGraph } from './compile.js';
import { batchSizeOf, inputTensors } from './feeds.js';

/**
 * The tfjs lowerings as core's GraphCompiler (parameters already inputs):
 * each run feeds every input as a tensor, runs the graph in a tf.tidy and
 * reads the outputs back to the host, so a run leaves no tensor behind.
 * What the conformance suite runs; TfjsEngine keeps its own variables.
 */
export const tfjsCompiler: GraphCompiler = (graph) => {
  const compiled = new CompiledGraph(graph);
  const names = new Set(graph.inputs.map((i) => i.name));
  const batched = graph.inputs.some((i) => i.type.shape.includes('batch'));
  return Promise.resolve({
    run(feeds, outputs, into) {
      const values = inputTensors(graph, feeds, batched ? batchSizeOf(graph.inputs, feeds) : 1, names);
      try {
        const host = tf.tidy(() => {
          const out = compiled.run(values, outputs);
          return outputs.map((o) => out[o]!.dataSync());
        });
        return Promise.resolve(
          Object.fromEntries(
            outputs.map((o, k) => {
              const data = host[k]!;
              const values = data instanceof Float32Array ? data : Float32Array.from(data);
              const target = into?.[o];
              if (target) target.set(values);
              return [o, target ?? values];
            }),
          ),
        );
      } finally {
        for (const t of values.values()) t.dispose();
      }
    },
  });
};
