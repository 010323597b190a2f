import { grad, interpret, type HostTensor } from '@esm2/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompiledGraph } from './compile.js';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { expectClose } from './testing/expect-close.js';
import { ZOO_CASES, fixture } from './testing/fixtures.js';

beforeAll(cpuRuntime);

describe.each(ZOO_CASES)('forward parity with the interpreter: $label', ({ config }) => {
  it('every output of the engine matches the f64 interpreter within 1e-5', async () => {
    const { model, weights, feeds } = fixture(config, 3, 32);
    const engine = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, await cpuRuntime());
    const outputs = Object.keys(model.graph.outputs);
    const got = await engine.predict(feeds, outputs);
    const want = interpret(model.graph, weights, feeds);
    for (const name of outputs) expectClose(got[name]!, want[name]!.data, 1e-5, 1e-5, name);
    engine.dispose();
  });

  it('the IR gradient graph (backward ops included) compiles and matches the interpreter', () => {
    const { model, weights, feeds } = fixture(config, 4, 12);
    const g = grad(model.graph);
    const compiled = new CompiledGraph(g);
    const outputs = Object.keys(g.outputs);
    const want = interpret(g, weights, feeds);
    const got = tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      for (const input of g.inputs) values.set(input.name, toTensor(feeds[input.name]!, input.type.dtype));
      for (const p of g.params) values.set(p.name, tf.tensor(weights.get(p.name)!, p.type.shape as number[]));
      const out = compiled.run(values, outputs);
      return Object.fromEntries(outputs.map((o) => [o, out[o]!.dataSync().slice()]));
    });
    for (const name of outputs) expectClose(got[name]!, want[name]!.data, 1e-5, 1e-4, name);
    const ops = new Set(g.nodes.map((n) => n.op));
    expect(ops.has('scatterAdd') || ops.has('pooledScatterAdd')).toBe(true);
  });
});

function toTensor(t: HostTensor, dtype: 'f32' | 'i32'): tf.Tensor {
  return dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), t.shape, 'int32') : tf.tensor(Float32Array.from(t.data), t.shape);
}
