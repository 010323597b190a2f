import { describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { artifactFromModel, type ModelArtifact } from './artifact.js';
import { validateArtifact } from './validate.js';

function sample(name: 'esm2' | 'dnn' = 'esm2'): ModelArtifact {
  const schema = smallSchema();
  const model = buildModel(schema, { model: name, towers: [8, 4], embeddingDim: 4, numericDim: 3 });
  return artifactFromModel(model, schema, initWeights(model.graph, 1));
}

describe('validateArtifact', () => {
  it('accepts a fresh zoo model', () => {
    expect(() => validateArtifact(sample())).not.toThrow();
  });

  it('requires every embedding table to have the rows the schema gives its field', () => {
    const a = sample();
    const fields = a.schema.fields as { name: string; encoding?: { kind: string; size?: number; buckets?: number } }[];
    fields.find((f) => f.name === 'user')!.encoding!.size = 9;
    fields.find((f) => f.name === 'item')!.encoding!.buckets = 4;
    expect(() => validateArtifact(a)).toThrow(
      "schema field 'user' has vocabulary size 9 but its embedding table 'emb/user' has 7 rows; schema field 'item' has 4 hash buckets but its embedding table 'emb/item' has 11 rows",
    );
  });

  it("checks each network's tables where a model has two sets (DNN: CVR's emb/*, CTR's ctr/emb/*)", () => {
    const a = sample('dnn');
    expect(() => validateArtifact(a)).not.toThrow();
    (a.schema.fields as { name: string; encoding?: { size?: number } }[]).find((f) => f.name === 'user')!.encoding!.size = 9;
    expect(() => validateArtifact(a)).toThrow(
      "schema field 'user' has vocabulary size 9 but its embedding table 'emb/user' has 7 rows; schema field 'user' has vocabulary size 9 but its embedding table 'ctr/emb/user' has 7 rows",
    );
  });

  it('names the tensor and index of a NaN (and of an Infinity in state)', () => {
    const a = sample();
    a.weights.get('y2/l1/w')![5] = Number.NaN;
    a.state = new Map([['m', { dtype: 'f32', shape: [2], data: Float32Array.of(0, -Infinity) }]]);
    expect(() => validateArtifact(a)).toThrow(
      "invalid artifact: param 'y2/l1/w' has a non-finite value (NaN) at index 5; state 'm' has a non-finite value (-Infinity) at index 1",
    );
  });

  it('requires exactly the graph params with their element counts', () => {
    const a = sample();
    a.weights.delete('emb/user');
    a.weights.set('y1/out/b', new Float32Array(2));
    a.weights.set('stray', new Float32Array(1));
    expect(() => validateArtifact(a)).toThrow(
      "param 'emb/user' has no weights; param 'y1/out/b' has 2 values but the graph declares [1] = 1; weights has 'stray', which is not a graph param",
    );
  });

  it('rejects a Float64Array where f32 is declared', () => {
    const a = sample();
    (a.weights as Map<string, unknown>).set('y1/out/b', new Float64Array(1));
    expect(() => validateArtifact(a)).toThrow("param 'y1/out/b' must be a Float32Array");
  });

  it('checks state tensors against their dtype and shape', () => {
    const a = sample();
    a.state = new Map([
      ['step', { dtype: 'i32', shape: [], data: new Float32Array(1) as unknown as Int32Array }],
      ['v', { dtype: 'f32', shape: [2, 2], data: new Float32Array(3) }],
      ['w', { dtype: 'f32', shape: [-1], data: new Float32Array(0) }],
    ]);
    expect(() => validateArtifact(a)).toThrow(
      "state 'step': dtype i32 needs a Int32Array; state 'v' has 3 values but shape [2,2] = 4; state 'w' has an invalid shape [-1]",
    );
  });

  it('rejects a graph that fails typecheck, with the type error', () => {
    const a = sample();
    a.graph = structuredClone(a.graph);
    a.graph.nodes[0]!.type = { dtype: 'f32', shape: [99] };
    expect(() => validateArtifact(a)).toThrow(/^invalid artifact: graph fails typecheck: node %0 \(gather\): declared f32\[99\]/);
  });

  it('checks the model description against the config and graph outputs', () => {
    const a = sample();
    a.model.name = 'esmm';
    a.model.towers.push('y9');
    expect(() => validateArtifact(a)).toThrow("model.name 'esmm' differs from model.config.model 'esm2'; model.towers names 'y9', which is not a graph output");
  });

  it('checks that the schema parses and covers the graph inputs', () => {
    const a = sample();
    a.schema = { ...a.schema, fields: a.schema.fields.filter((f) => f.name !== 'price') };
    expect(() => validateArtifact(a)).toThrow("graph input 'price' is not a field of the schema");
    a.schema = { fields: [] } as never;
    expect(() => validateArtifact(a)).toThrow('schema: invalid feature schema: fields:');
  });
});
