import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { DEFAULT_OPTIMIZER } from '../engine.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { adamUpdate } from '../train/adam.js';
import { buildModel } from '../zoo/index.js';
import { backend } from './example.js';
import { SPECIFICATION_VERSION } from './spec.js';

const repo = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

describe('the interpreter as a backend (docs/backends.md)', () => {
  it('is a v1 step backend whose engine trains: one step is full-graph autodiff followed by Adam', async () => {
    expect(backend).toMatchObject({ specificationVersion: 'v1', name: 'interpreter', kind: 'steps' });
    expect(SPECIFICATION_VERSION).toBe('v1');
    const schema = smallSchema();
    const model = buildModel(schema, { towers: [6, 3], embeddingDim: 3, numericDim: 2 });
    const optimizer = { ...DEFAULT_OPTIMIZER, lr: 0.02 };
    const weights = initWeights(model.graph, 2);
    const feeds = randomFeeds(model.graph, schema, 10, 3);
    const factory = backend.create({});
    expect(factory.name).toBe('interpreter');
    const engine = await factory.create({ model, weights, optimizer });
    try {
      const { losses } = await engine.step(feeds);
      // Checked against what the engine does not use: autodiff of the whole model graph, interpreted, and Adam from zero moments.
      const ref = interpret(grad(model.graph), weights, feeds);
      expect(losses.loss).toBeCloseTo(ref.loss!.data[0]!, 6);
      const after = engine.getWeights();
      for (const p of model.graph.params) {
        const w = Float32Array.from(weights.get(p.name)!);
        adamUpdate(w, ref[gradName(p.name)]!.data, new Float32Array(w.length), new Float32Array(w.length), 1, optimizer);
        const got = after.get(p.name)!;
        for (let i = 0; i < w.length; i++) expect(got[i]).toBeCloseTo(w[i]!, 5);
      }
    } finally {
      engine.dispose();
    }
  });

  it('docs/backends.md shows this example and the interpreter compiler as they are in the source', () => {
    const doc = readFileSync(repo('docs/backends.md'), 'utf8');
    // Each block after `<!-- source: PATH -->` is a verbatim excerpt of PATH.
    const excerpts = [...doc.matchAll(/<!-- source: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)].map(([, path, code]) => ({ path: path!, code: code! }));
    expect(excerpts.map((e) => e.path)).toEqual(expect.arrayContaining(['packages/core/src/backend/example.ts', 'packages/core/src/train/host-engine.ts']));
    for (const { path, code } of excerpts) expect(readFileSync(repo(path), 'utf8'), `${path}: docs/backends.md's excerpt differs`).toContain(code);
    expect(doc).toContain(readFileSync(repo('packages/core/src/backend/example.ts'), 'utf8').trimEnd());
  });
});
