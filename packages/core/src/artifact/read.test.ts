import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import type { Graph } from '../ir/types.js';
import { smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { artifactFromModel } from './artifact.js';
import { ArtifactError } from './errors.js';
import { modelJsonText } from './checksum.js';
import { readArtifact } from './read.js';
import { writeArtifact } from './write.js';

/** model.json as loosely typed JSON, for editing. */
type Doc = {
  formatVersion: unknown;
  format: unknown;
  model: { config: Record<string, unknown> };
  graph: { nodes: Record<string, unknown>[] };
  weights: { byteLength: number; sha256: string; tensors: { name: string; group: string; shape: number[]; offset: number; byteLength: number }[] };
};

let parent: string;
let dir: string;
let modelPath: string;
let binPath: string;
let graph: Graph;

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'esm2-artifact-read-'));
  dir = join(parent, 'model');
  modelPath = join(dir, 'model.json');
  binPath = join(dir, 'weights.bin');
  const schema = smallSchema();
  const model = buildModel(schema, { model: 'esm2', towers: [8, 4], embeddingDim: 4, numericDim: 3 });
  graph = model.graph;
  await writeArtifact(dir, artifactFromModel(model, schema, initWeights(model.graph, 9)));
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** Edits model.json and stamps its checksum again, so the check under test is the one that fires. */
async function editModelJson(edit: (doc: Doc) => void): Promise<void> {
  const doc = JSON.parse(await readFile(modelPath, 'utf8')) as Doc;
  edit(doc);
  await writeFile(modelPath, modelJsonText(doc));
}

const declared = (name: string) => graph.params.find((p) => p.name === name)!.type.shape as number[];
const param = (doc: Doc, name: string) => doc.weights.tensors.find((t) => t.group === 'param' && t.name === name)!;

describe('model.json checksum', () => {
  it('is written (format version 2) and survives re-indenting the file', async () => {
    const doc = JSON.parse(await readFile(modelPath, 'utf8')) as Record<string, unknown>;
    expect(doc.formatVersion).toBe(2);
    expect(doc.sha256).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(modelPath, JSON.stringify(doc));
    await expect(readArtifact(dir)).resolves.toBeDefined();
  });

  it('is not required of a version 1 artifact (written before model.json carried one)', async () => {
    const doc = JSON.parse(await readFile(modelPath, 'utf8')) as Record<string, unknown>;
    delete doc.sha256;
    doc.formatVersion = 1;
    await writeFile(modelPath, JSON.stringify(doc, null, 2));
    const artifact = await readArtifact(dir);
    expect(artifact.graph.params.length).toBe(graph.params.length);
  });
});

describe('readArtifact rejects', () => {
  it('a missing directory', async () => {
    await expect(readArtifact(join(parent, 'nope'))).rejects.toThrow(`artifact directory not found: ${join(parent, 'nope')}`);
  });

  it('a file in place of the directory', async () => {
    await expect(readArtifact(binPath)).rejects.toThrow('is not an artifact directory');
  });

  it('a directory without model.json', async () => {
    await mkdir(join(parent, 'empty'));
    await expect(readArtifact(join(parent, 'empty'))).rejects.toThrow(`${join(parent, 'empty', 'model.json')} is missing`);
  });

  it('invalid JSON', async () => {
    await writeFile(modelPath, '{"format": ');
    await expect(readArtifact(dir)).rejects.toThrow(`${modelPath} is not valid JSON:`);
  });

  it('a foreign format', async () => {
    await editModelJson((d) => {
      d.format = 'onnx';
    });
    await expect(readArtifact(dir)).rejects.toThrow(`${modelPath}: format is "onnx", expected "esm2-artifact"`);
  });

  it('an unsupported formatVersion, saying which are supported', async () => {
    await editModelJson((d) => {
      d.formatVersion = 99;
    });
    const error = await readArtifact(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as Error).message).toBe(`${modelPath}: unsupported formatVersion 99 (supported: 1, 2)`);
  });

  it('one changed digit in model.json (a vocabulary entry), by its own checksum', async () => {
    await editModelJson((d) => {
      (d as Record<string, unknown>).encoders = { vocabularies: { user: ['u1001', 'u1002'] } };
    });
    const text = await readFile(modelPath, 'utf8');
    await writeFile(modelPath, text.replace('u1001', 'u1011'));
    await expect(readArtifact(dir)).rejects.toThrow(
      new RegExp(`^${modelPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt: checksum sha256 [0-9a-f]{64} does not match the [0-9a-f]{64} it records`),
    );
  });

  it('a version 2 model.json without its checksum', async () => {
    const doc = JSON.parse(await readFile(modelPath, 'utf8')) as Record<string, unknown>;
    delete doc.sha256;
    await writeFile(modelPath, JSON.stringify(doc));
    await expect(readArtifact(dir)).rejects.toThrow(`${modelPath}: "sha256" is missing; formatVersion 2 records the file's own checksum there`);
  });

  it('a structurally broken document, naming the path', async () => {
    await editModelJson((d) => {
      delete d.graph.nodes[2]!.type;
      d.graph.nodes[3]!.attrs = { weights: 'x' };
    });
    await expect(readArtifact(dir)).rejects.toThrow(/model\.json is invalid: graph\.nodes\.2\.type: .*; graph\.nodes\.3\.attrs\.\w+: /);
  });

  it('an invalid model config', async () => {
    await editModelJson((d) => {
      d.model.config.towers = [0];
    });
    await expect(readArtifact(dir)).rejects.toThrow(`${modelPath}: model.config: invalid model config: towers.0:`);
  });

  it('a graph that fails typecheck', async () => {
    await editModelJson((d) => {
      d.graph.nodes[0]!.type = { dtype: 'f32', shape: ['batch', 99] };
    });
    await expect(readArtifact(dir)).rejects.toThrow(`${modelPath}: graph fails typecheck: node %0 (gather)`);
  });

  it('one flipped byte in weights.bin, by checksum', async () => {
    const bin = await readFile(binPath);
    bin[Math.floor(bin.byteLength / 2)]! ^= 0x01;
    await writeFile(binPath, bin);
    await expect(readArtifact(dir)).rejects.toThrow(/weights\.bin is corrupt: checksum sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}/);
  });

  it('a truncated weights.bin', async () => {
    const size = (await readFile(binPath)).byteLength;
    await truncate(binPath, size - 3);
    await expect(readArtifact(dir)).rejects.toThrow(`${binPath} is truncated: ${size - 3} bytes, the manifest says ${size}`);
  });

  it('trailing bytes after weights.bin', async () => {
    await writeFile(binPath, Buffer.concat([await readFile(binPath), Buffer.alloc(8)]));
    await expect(readArtifact(dir)).rejects.toThrow('trailing data');
  });

  it('a missing weights.bin', async () => {
    await rm(binPath);
    await expect(readArtifact(dir)).rejects.toThrow(`${binPath} is missing`);
  });

  it('a manifest shape that disagrees with the graph', async () => {
    await editModelJson((d) => {
      param(d, 'y1/l0/w').shape.reverse(); // same byte count, so only the graph comparison can catch it
    });
    await expect(readArtifact(dir)).rejects.toThrow(
      `${modelPath}: weights manifest does not match the graph: param 'y1/l0/w' has shape [${[...declared('y1/l0/w')].reverse().join(',')}] but the graph declares [${declared('y1/l0/w').join(',')}]`,
    );
  });

  it('a missing weight', async () => {
    await editModelJson((d) => {
      d.weights.tensors = d.weights.tensors.filter((t) => t.name !== 'numeric/b');
    });
    await expect(readArtifact(dir)).rejects.toThrow("weights manifest does not match the graph: param 'numeric/b' is missing");
  });

  it('an extra weight', async () => {
    await editModelJson((d) => {
      param(d, 'y4/out/b').name = 'y5/out/b';
    });
    await expect(readArtifact(dir)).rejects.toThrow("param 'y4/out/b' is missing; param 'y5/out/b' is not a graph param");
  });

  it('manifest entries out of bounds', async () => {
    await editModelJson((d) => {
      param(d, 'y4/out/b').offset = Math.ceil(d.weights.byteLength / 8) * 8;
    });
    await expect(readArtifact(dir)).rejects.toThrow(/weights manifest: param 'y4\/out\/b' is out of bounds: bytes \[\d+, \d+\) but the file has \d+/);
  });

  it('overlapping manifest entries', async () => {
    await editModelJson((d) => {
      param(d, 'y1/out/b').offset = param(d, 'y1/out/w').offset;
    });
    await expect(readArtifact(dir)).rejects.toThrow(/weights manifest: param 'y1\/out\/(w|b)' and param 'y1\/out\/(w|b)' overlap at byte \d+/);
  });

  it('a manifest byteLength that disagrees with the shape', async () => {
    await editModelJson((d) => {
      param(d, 'emb/user').byteLength -= 4;
    });
    const shape = declared('emb/user');
    const bytes = shape.reduce((n, d) => n * d, 4);
    await expect(readArtifact(dir)).rejects.toThrow(`param 'emb/user' has shape [${shape.join(',')}] (${bytes} bytes of f32) but byteLength ${bytes - 4}`);
  });

  it('a non-finite weight even when the checksum was updated to match', async () => {
    const doc = JSON.parse(await readFile(modelPath, 'utf8')) as Doc;
    const bin = await readFile(binPath);
    bin.writeFloatLE(Number.POSITIVE_INFINITY, param(doc, 'y2/l1/b').offset + 4 * 2);
    doc.weights.sha256 = createHash('sha256').update(bin).digest('hex');
    await writeFile(binPath, bin);
    await writeFile(modelPath, modelJsonText(doc));
    await expect(readArtifact(dir)).rejects.toThrow(`${binPath}: param 'y2/l1/b' has a non-finite value (Infinity) at index 2`);
  });

  it('a weights file name other than weights.bin (no reading arbitrary paths)', async () => {
    await editModelJson((d) => {
      (d.weights as Record<string, unknown>).file = '../../etc/passwd';
    });
    await expect(readArtifact(dir)).rejects.toThrow(/model\.json is invalid: weights\.file:/);
  });
});
