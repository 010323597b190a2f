import { interpret } from '@esm2/core';
import { zooCases } from '@esm2/core/conformance';
import { beforeAll, describe, it } from 'vitest';
import { TfjsEngine } from './engine.js';
import { DEFAULT_TEST_OPTIMIZER, cpuRuntime } from './testing/engine.js';
import { expectClose } from './testing/expect-close.js';
import { fixture } from './testing/fixtures.js';

beforeAll(cpuRuntime);

// The lowerings (forward, gradient graphs, training steps) are the conformance suite's (src/conformance.test.ts);
// here the engine's own scoring path: variables for dense weights, host-side embedding lookups.
describe.each(zooCases({}, ['relu', 'tanh']))('TfjsEngine.predict equals the interpreter: $name', ({ config }) => {
  it('every output of the engine matches the f64 interpreter within 1e-5', async () => {
    const { model, weights, feeds } = fixture(config, 3, 32);
    const engine = new TfjsEngine(model, weights, DEFAULT_TEST_OPTIMIZER, await cpuRuntime());
    const outputs = Object.keys(model.graph.outputs);
    const got = await engine.predict(feeds, outputs);
    const want = interpret(model.graph, weights, feeds);
    for (const name of outputs) expectClose(got[name]!, want[name]!.data, 1e-5, 1e-5, name);
    engine.dispose();
  });
});
