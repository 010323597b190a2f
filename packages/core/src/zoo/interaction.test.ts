import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../autodiff/grad.js';
import { finiteDifference } from '../autodiff/finite-difference.js';
import { GraphBuilder } from '../ir/builder.js';
import { initWeights } from '../ir/init.js';
import { interpret } from '../ir/interpret.js';
import { parseFeatureSchema } from '../schema.js';
import { randomFeeds, smallSchema } from '../testing.js';
import { parseModelConfig, type ModelConfigInput } from './config.js';
import { composeSharedEmbedding } from './embedding.js';
import { buildModel } from './index.js';

/** The shared embedding (after the interaction module) as the only output of a graph. */
function embeddingGraph(schema = smallSchema(), config: ModelConfigInput = {}) {
  const b = new GraphBuilder('embedding');
  b.output('x', composeSharedEmbedding(b, schema, parseModelConfig(config)));
  return b.build();
}

/** Rows of a [n, w] output as arrays. */
function rows(data: ArrayLike<number>, n: number): number[][] {
  const w = data.length / n;
  return Array.from({ length: n }, (_, r) => Array.from({ length: w }, (_, k) => data[r * w + k]!));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);

describe('interaction config', () => {
  it("defaults to 'none' with 2 cross layers, so configs saved before the option existed read back unchanged", () => {
    const saved = { model: 'esm2', towers: [8, 4], activation: 'relu', embeddingDim: 16, numericDim: 16, embeddingInitStd: 0.05, task: 'cvr', oversampleRate: 5, bceEps: 1e-7 };
    const config = parseModelConfig(saved);
    expect(config.interaction).toBe('none');
    expect(config.crossLayers).toBe(2);
    const schema = smallSchema();
    expect(buildModel(schema, config).graph).toEqual(buildModel(schema, { ...config, interaction: 'none' }).graph);
    expect(buildModel(schema, config).graph.params.some((p) => /(^|\/)(cross|dot)\//.test(p.name))).toBe(false);
  });

  it('refuses an unknown interaction and a non-positive layer count, naming the field', () => {
    expect(() => parseModelConfig({ interaction: 'fm' })).toThrow(/interaction/);
    expect(() => parseModelConfig({ interaction: 'cross', crossLayers: 0 })).toThrow(/crossLayers/);
  });
});

describe("interaction 'dot'", () => {
  const schema = smallSchema();
  const n = 5;

  it('appends the F(F−1)/2 dot products of the fields (numerics as one more field) to the concatenation', () => {
    // numericDim 3 = the fields' width: the numeric projection is the fourth field as it is.
    const config = { embeddingDim: 3, numericDim: 3, interaction: 'dot' } as const;
    const graph = embeddingGraph(schema, config);
    const plain = embeddingGraph(schema, { ...config, interaction: 'none' });
    expect(graph.params.map((p) => p.name)).toEqual(plain.params.map((p) => p.name));
    const weights = initWeights(graph, 3);
    const feeds = randomFeeds(graph, schema, n, 9);
    const x = rows(interpret(plain, weights, feeds).x!.data, n);
    const out = rows(interpret(graph, weights, feeds).x!.data, n);
    for (let r = 0; r < n; r++) {
      const fields = [0, 1, 2, 3].map((f) => x[r]!.slice(f * 3, f * 3 + 3)); // user, item, tags, numeric
      const dots = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(([i, j]) => dot(fields[i!]!, fields[j!]!));
      expect(out[r]!.slice(0, 12)).toEqual(x[r]);
      expect(out[r]!.length).toBe(12 + 6);
      out[r]!.slice(12).forEach((v, k) => expect(v).toBeCloseTo(dots[k]!, 12));
      expect(dots.some((d) => Math.abs(d) > 1e-4)).toBe(true);
    }
  });

  it('projects the numerics to the fields’ width when numericDim differs', () => {
    const config = { embeddingDim: 3, numericDim: 5, interaction: 'dot' } as const;
    const graph = embeddingGraph(schema, config);
    const proj = graph.params.find((p) => p.name === 'dot/numeric/w');
    expect(proj?.type.shape).toEqual([5, 3]);
    const weights = initWeights(graph, 4);
    const feeds = randomFeeds(graph, schema, n, 2);
    const x = rows(interpret(embeddingGraph(schema, { ...config, interaction: 'none' }), weights, feeds).x!.data, n);
    const out = rows(interpret(graph, weights, feeds).x!.data, n);
    const w = weights.get('dot/numeric/w')!;
    for (let r = 0; r < n; r++) {
      const numeric = x[r]!.slice(9, 14);
      const projected = [0, 1, 2].map((c) => numeric.reduce((s, v, k) => s + v * w[k * 3 + c]!, 0));
      const fields = [x[r]!.slice(0, 3), x[r]!.slice(3, 6), x[r]!.slice(6, 9), projected];
      expect(out[r]!.length).toBe(14 + 6);
      expect(out[r]![14 + 2]).toBeCloseTo(dot(fields[0]!, fields[3]!), 6); // user · numeric
      expect(out[r]![14 + 5]).toBeCloseTo(dot(fields[2]!, fields[3]!), 6); // tags · numeric
    }
  });

  it('refuses fields of different widths, naming the field and both widths', () => {
    // smallSchema's 'item' sets embeddingDim 3; the others take the model's 16.
    expect(() => buildModel(schema, { interaction: 'dot' })).toThrow(
      "interaction 'dot' needs every field's embedding to be one width: field 'item' is 3 wide, field 'user' is 16",
    );
    const single = parseFeatureSchema({ fields: [{ kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 4 } }] });
    expect(() => buildModel(single, { interaction: 'dot' })).toThrow("needs at least 2 fields to pair, the schema gives 1 ('user')");
  });
});

describe("interaction 'cross'", () => {
  it('feeds the towers x_L of x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l', () => {
    const schema = smallSchema();
    const n = 4;
    const config = { embeddingDim: 3, numericDim: 2, interaction: 'cross', crossLayers: 2 } as const;
    const graph = embeddingGraph(schema, config);
    const d = 3 + 3 + 3 + 2;
    expect(graph.params.filter((p) => p.name.startsWith('cross/')).map((p) => [p.name, p.type.shape])).toEqual([
      ['cross/l0/w', [d, d]],
      ['cross/l0/b', [d]],
      ['cross/l1/w', [d, d]],
      ['cross/l1/b', [d]],
    ]);
    const weights = initWeights(graph, 5);
    weights.set('cross/l0/b', Float32Array.from({ length: d }, (_, k) => 0.1 * k - 0.4));
    const feeds = randomFeeds(graph, schema, n, 6);
    const x0 = rows(interpret(embeddingGraph(schema, { ...config, interaction: 'none' }), weights, feeds).x!.data, n);
    const out = rows(interpret(graph, weights, feeds).x!.data, n);
    for (let r = 0; r < n; r++) {
      let x = x0[r]!;
      for (const l of [0, 1]) {
        const w = weights.get(`cross/l${l}/w`)!;
        const b = weights.get(`cross/l${l}/b`)!;
        x = x.map((xk, k) => x0[r]![k]! * (x.reduce((s, v, i) => s + v * w[i * d + k]!, 0) + b[k]!) + xk);
      }
      expect(out[r]!.length).toBe(d);
      out[r]!.forEach((v, k) => expect(v).toBeCloseTo(x[k]!, 12));
      expect(out[r]).not.toEqual(x0[r]);
    }
  });
});

describe('interactions in the DNN baseline', () => {
  it.each(['dot', 'cross'] as const)('%s: each network has its own interaction parameters, trained only by its own loss', (interaction) => {
    const schema = smallSchema();
    const model = buildModel(schema, { model: 'dnn', interaction, towers: [4], embeddingDim: 3, numericDim: 2 });
    const names = model.graph.params.map((p) => p.name).filter((p) => /(^|\/)(cross|dot)\//.test(p));
    const own = interaction === 'dot' ? ['dot/numeric/w'] : ['cross/l0/w', 'cross/l0/b', 'cross/l1/w', 'cross/l1/b'];
    expect(names).toEqual([...own, ...own.map((p) => `ctr/${p}`)]);
    const weights = new Map([...initWeights(model.graph, 4)].map(([k, v]) => [k, Float64Array.from(v, (x) => (x === 0 ? 0.05 : x))]));
    const feeds = randomFeeds(model.graph, schema, 12, 4);
    const withGrads = interpret(grad(model.graph), weights, feeds);
    for (const p of names) {
      const loss = p.startsWith('ctr/') ? 'loss_ctr' : 'loss_cvr';
      const other = loss === 'loss_ctr' ? 'loss_cvr' : 'loss_ctr';
      const g = withGrads[gradName(p)]!.data;
      expect(Math.abs(g[0]! - finiteDifference(model.graph, weights, feeds, p, 0, { loss }))).toBeLessThan(1e-6);
      expect(finiteDifference(model.graph, weights, feeds, p, 0, { loss: other })).toBe(0);
    }
  });
});
