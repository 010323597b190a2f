import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromModel, initWeights, type ModelArtifact } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooModel } from '../test-support/graphs.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../proto/types.js';
import { readVerifiedOnnx } from './read-info.js';
import { exportArtifactToTriton, formatTritonConfig, parseTritonConfig, tritonConfig, tritonModelFile, type TritonModelConfig } from './triton.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-onnx-triton-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let artifact: ModelArtifact;
beforeAll(() => {
  const model = zooModel('esm2');
  artifact = artifactFromModel(model, smallSchema(), initWeights(model.graph, 2));
});

const tensor = (name: string, elem_type: number, dim: ValueInfoProto['type']['tensor_type']['shape']['dim']): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type, shape: { dim } } },
});
const proto = (input: ValueInfoProto[], output: ValueInfoProto[]): ModelProto => ({
  ir_version: 8,
  opset_import: [],
  graph: { name: 'g', node: [], initializer: [], input, output },
});

describe('tritonConfig', () => {
  it('drops the batch dimension, keeps fixed dims, writes -1 for other symbolic dims and reshapes [batch] tensors', () => {
    const config = tritonConfig(
      proto(
        [tensor('ids', DataType.INT32, [{ dim_param: 'batch' }]), tensor('seq', DataType.INT64, [{ dim_param: 'batch' }, { dim_value: 5 }, { dim_param: 'len' }])],
        [tensor('p', DataType.FLOAT, [{ dim_param: 'batch' }]), tensor('emb', DataType.DOUBLE, [{ dim_param: 'batch' }, { dim_value: 8 }])],
      ),
      { name: 'm', maxBatchSize: 32 },
    );
    expect(config).toEqual({
      name: 'm',
      platform: 'onnxruntime_onnx',
      max_batch_size: 32,
      input: [
        { name: 'ids', data_type: 'TYPE_INT32', dims: [1], reshape: { shape: [] } },
        { name: 'seq', data_type: 'TYPE_INT64', dims: [5, -1] },
      ],
      output: [
        { name: 'p', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } },
        { name: 'emb', data_type: 'TYPE_FP64', dims: [8] },
      ],
      dynamic_batching: { max_queue_delay_microseconds: 100 },
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    });
  });

  it('refuses tensors Triton could not batch, unknown element types, bad sizes and names', () => {
    const ok = tensor('p', DataType.FLOAT, [{ dim_param: 'batch' }]);
    expect(() => tritonConfig(proto([tensor('x', DataType.FLOAT, [{ dim_value: 4 }])], [ok]), { name: 'm' })).toThrow(
      "input 'x': its first dimension is not a symbolic batch dimension, so Triton cannot batch it (max_batch_size > 0)",
    );
    expect(() => tritonConfig(proto([], [tensor('s', DataType.FLOAT, [])]), { name: 'm' })).toThrow("output 's': its first dimension is not a symbolic batch dimension");
    expect(() => tritonConfig(proto([tensor('b', 3, [{ dim_param: 'batch' }])], [ok]), { name: 'm' })).toThrow("input 'b': ONNX element type 3 has no Triton data type here");
    expect(() => tritonConfig(proto([], [ok]), { name: 'm', maxBatchSize: 0 })).toThrow('max_batch_size must be an integer from 1 to 2147483647, got 0');
    expect(() => tritonConfig(proto([], [ok]), { name: '../m' })).toThrow("Triton model name '../m' must be");
  });
});

describe('config.pbtxt text', () => {
  it('parses back exactly what it writes, including names that need escaping', () => {
    const config: TritonModelConfig = {
      name: 'a "quoted" \\ name',
      platform: 'onnxruntime_onnx',
      max_batch_size: 7,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [2, -1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }],
      dynamic_batching: { max_queue_delay_microseconds: 50 },
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
    };
    const text = formatTritonConfig(config);
    expect(text).toContain('platform: "onnxruntime_onnx"\n');
    expect(text).toContain('data_type: TYPE_FP32\n');
    expect(text).toContain('dims: [ 2, -1 ]\n');
    expect(text).toContain('shape: [ ]\n');
    expect(parseTritonConfig(text, 'config.pbtxt')).toEqual(config);
  });

  it("reads Triton's documented styles: comments, `field: [ { … } ]`, repeated scalars, `< >`, separators, unknown fields", () => {
    const text = [
      '# an example from a hand-written repository',
      'name: "mymodel"  # trailing comment',
      'backend: "onnxruntime"',
      'max_batch_size: 8;',
      'version_policy: { latest: { num_versions: 1 } }',
      'input: [ { name: "input0", data_type: TYPE_FP32, dims: 16 dims: 4 } ]',
      'output < name: \'out\' data_type: TYPE_INT32 dims: [ 1 ] reshape: { shape: [ ] } >',
      'default_model_filename: "my" "model.onnx"',
      'dynamic_batching { }',
      'optimization { execution_accelerators { cpu_execution_accelerator : [ { name : "openvino" } ] } }',
    ].join('\n');
    expect(parseTritonConfig(text, 'c.pbtxt')).toEqual({
      name: 'mymodel',
      backend: 'onnxruntime',
      max_batch_size: 8,
      default_model_filename: 'mymodel.onnx',
      input: [{ name: 'input0', data_type: 'TYPE_FP32', dims: [16, 4] }],
      output: [{ name: 'out', data_type: 'TYPE_INT32', dims: [1], reshape: { shape: [] } }],
      dynamic_batching: {},
    });
  });

  it('names the file, line and column of a syntax error, and the field of a wrong value', () => {
    expect(() => parseTritonConfig('name: "m"\ninput [\n  { name: "x" data_type TYPE_FP32 }\n]\n', '/r/m/config.pbtxt')).toThrow(
      "/r/m/config.pbtxt:3:25: expected ':' or '{', found 'TYPE_FP32'",
    );
    expect(() => parseTritonConfig('name: "m"\ninput [ { name: "x"', 'c.pbtxt')).toThrow("c.pbtxt:2:20: expected a field name or '}', found end of file");
    expect(() => parseTritonConfig('name: "m\n', 'c.pbtxt')).toThrow('c.pbtxt:1:7: unterminated string');
    expect(() => parseTritonConfig('name: "m"\n  max_batch_size: 4 @', 'c.pbtxt')).toThrow("c.pbtxt:2:21: unexpected character '@'");
    expect(() => parseTritonConfig('name: "m"\nmax_batch_size: "4"', 'c.pbtxt')).toThrow('c.pbtxt: max_batch_size must be an integer');
    expect(() => parseTritonConfig('name: "m"\ninput { name: "x" data_type: "TYPE_FP32" }', 'c.pbtxt')).toThrow('c.pbtxt: input[0].data_type must be an enum name such as TYPE_FP32');
    expect(() => parseTritonConfig('name: "m"\ninput { data_type: TYPE_FP32 }', 'c.pbtxt')).toThrow('c.pbtxt: input[0].name is missing');
    expect(() => parseTritonConfig('platform: "onnxruntime_onnx"', 'c.pbtxt')).toThrow('c.pbtxt: name is missing');
    expect(() => parseTritonConfig('name: "a" name: "b"', 'c.pbtxt')).toThrow('c.pbtxt: name is given 2 times');
  });
  it('skips unknown fields whatever their name (__proto__ included) and refuses a single-valued message given twice', () => {
    expect(parseTritonConfig('__proto__ { polluted: 1 }\nname: "m"\nconstructor: "x"', 'c.pbtxt')).toEqual({ name: 'm', max_batch_size: 0, input: [], output: [] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => parseTritonConfig('name: "m"\ndynamic_batching { }\ndynamic_batching { }', 'c.pbtxt')).toThrow('c.pbtxt: dynamic_batching is given 2 times');
  });
});

describe('exportArtifactToTriton', () => {
  it('writes <repo>/<name>/config.pbtxt and a checksummed <repo>/<name>/1/model.onnx, named after the model by default', async () => {
    const repo = join(dir, 'repo');
    const written = await exportArtifactToTriton(artifact, repo, { maxBatchSize: 128 });
    expect(written.dir).toBe(join(repo, 'esm2'));
    expect(written.model.path).toBe(join(repo, 'esm2', '1', 'model.onnx'));
    expect(readdirSync(repo)).toEqual(['esm2']);
    expect(parseTritonConfig(readFileSync(written.configPath, 'utf8'), written.configPath)).toEqual(written.config);
    expect(written.config.max_batch_size).toBe(128);
    const read = await readVerifiedOnnx(written.model.path);
    expect(read.checksum).toBe('verified');
    expect(written.config.output.map((o) => o.name)).toEqual(read.info.outputs);
    await expect(tritonModelFile(written.dir)).resolves.toEqual({ file: written.model.path, name: written.config.name });
  });

  it('leaves no <repo>/<name> when verification fails, so the next export goes through', async () => {
    const repo = join(dir, 'repo-verify');
    mkdirSync(repo);
    let checked: string | undefined;
    const failing = async (path: string) => {
      checked = path;
      expect((await readVerifiedOnnx(path)).checksum).toBe('verified'); // the complete model, read back where it was written
      throw new Error('verification failed: differs by 1');
    };
    await expect(exportArtifactToTriton(artifact, repo, { verify: failing })).rejects.toThrow('verification failed: differs by 1');
    expect(checked).not.toContain(join(repo, 'esm2'));
    expect(readdirSync(repo)).toEqual([]);
    const written = await exportArtifactToTriton(artifact, repo, { verify: async (path) => void (await readVerifiedOnnx(path)) });
    expect(readdirSync(repo)).toEqual(['esm2']);
    await expect(tritonModelFile(written.dir)).resolves.toEqual({ file: written.model.path, name: 'esm2' });
  });

  it('refuses an existing <repo>/<name> that is not a Triton model folder without touching it', async () => {
    const repo = join(dir, 'repo-taken');
    mkdirSync(join(repo, 'esm2', '3'), { recursive: true });
    await expect(exportArtifactToTriton(artifact, repo)).rejects.toThrow(
      `${join(repo, 'esm2')} already exists and is not a Triton model folder (no config.pbtxt); remove it or export under another model name`,
    );
    expect(readdirSync(join(repo, 'esm2'))).toEqual(['3']);
    expect(readdirSync(repo)).toEqual(['esm2']);
    writeFileSync(join(repo, 'file'), 'x');
    await expect(exportArtifactToTriton(artifact, repo, { name: 'file' })).rejects.toThrow(`${join(repo, 'file')} exists and is not a directory`);
    expect(readFileSync(join(repo, 'file'), 'utf8')).toBe('x');
    symlinkSync(join(repo, 'nowhere'), join(repo, 'broken'));
    await expect(exportArtifactToTriton(artifact, repo, { name: 'broken' })).rejects.toThrow(`${join(repo, 'broken')} exists and is not a directory`);
    expect(readlinkSync(join(repo, 'broken'))).toBe(join(repo, 'nowhere'));
  });
});

/** Every file and directory under `root` (hidden ones too) with the sha256 of each file's bytes. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${p}/`] = 'dir';
        walk(p);
      } else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

describe('exportArtifactToTriton into an existing model folder', () => {
  /** The same architecture trained further: other weights, same inputs and outputs. */
  let next: ModelArtifact;
  beforeAll(() => {
    const model = zooModel('esm2');
    next = artifactFromModel(model, smallSchema(), initWeights(model.graph, 3));
  });

  it('writes the next version beside the others, keeping config.pbtxt and every byte of version 1', async () => {
    const repo = join(dir, 'versions');
    const first = await exportArtifactToTriton(artifact, repo);
    expect([first.version, first.versions, first.configWritten]).toEqual([1, [1], true]);
    const before = snapshot(join(repo, 'esm2'));
    const second = await exportArtifactToTriton(next, repo, { verify: async (path) => void (await readVerifiedOnnx(path)) });
    expect(second).toMatchObject({ dir: join(repo, 'esm2'), version: 2, versions: [2, 1], configWritten: false, configPath: first.configPath, config: first.config });
    expect(second.model.path).toBe(join(repo, 'esm2', '2', 'model.onnx'));
    expect(readdirSync(join(repo, 'esm2')).sort()).toEqual(['1', '2', 'config.pbtxt']);
    // Version 1 and the config are byte for byte as they were; version 2 is the other model.
    const after = snapshot(join(repo, 'esm2'));
    for (const [path, hash] of Object.entries(before)) expect(after[path], path).toBe(hash);
    expect(after[second.model.path]).not.toBe(after[first.model.path]);
    // Both versions load, checksums verified; the folder is served from version 2.
    expect((await readVerifiedOnnx(first.model.path)).checksum).toBe('verified');
    expect((await readVerifiedOnnx(second.model.path)).checksum).toBe('verified');
    await expect(tritonModelFile(second.dir)).resolves.toEqual({ file: second.model.path, name: 'esm2' });
    // 10 after 9: the next version is one more than the numerically highest.
    mkdirSync(join(repo, 'esm2', '9'));
    mkdirSync(join(repo, 'esm2', '010')); // Triton ignores names with a leading zero, and so does the count
    await expect(exportArtifactToTriton(next, repo)).resolves.toMatchObject({ version: 10, versions: [10, 9, 2, 1] });
  });

  it('adds the version through a model folder that is a symbolic link to one', async () => {
    const repo = join(dir, 'linked');
    const target = join(dir, 'linked-target');
    await exportArtifactToTriton(artifact, target);
    mkdirSync(repo);
    symlinkSync(join(target, 'esm2'), join(repo, 'esm2'));
    await expect(exportArtifactToTriton(next, repo)).resolves.toMatchObject({ version: 2, versions: [2, 1], configWritten: false });
    expect(readdirSync(join(target, 'esm2')).sort()).toEqual(['1', '2', 'config.pbtxt']);
    expect(lstatSync(join(repo, 'esm2')).isSymbolicLink()).toBe(true);
  });

  it('writes an explicit version, and refuses a taken one before writing anything', async () => {
    const repo = join(dir, 'explicit');
    await expect(exportArtifactToTriton(artifact, repo, { version: 5 })).resolves.toMatchObject({ version: 5, versions: [5] });
    await expect(exportArtifactToTriton(next, repo, { version: 3 })).resolves.toMatchObject({ version: 3, versions: [5, 3] });
    const before = snapshot(repo);
    let verified = false;
    await expect(exportArtifactToTriton(next, repo, { version: 5, verify: async () => void (verified = true) })).rejects.toThrow(
      `${join(repo, 'esm2', '5')} already exists: version 5 of 'esm2' is taken and is never replaced (it may be serving); give another --version, or none to write 6`,
    );
    expect(verified).toBe(false);
    expect(snapshot(repo)).toEqual(before);
    await expect(exportArtifactToTriton(next, repo)).resolves.toMatchObject({ version: 6 });
    for (const bad of [0, -1, 1.5]) await expect(exportArtifactToTriton(next, repo, { version: bad })).rejects.toThrow(`version must be a positive integer, got ${bad}`);
  });

  it('leaves no version directory or temporary behind when verification fails', async () => {
    const repo = join(dir, 'versions-verify');
    await exportArtifactToTriton(artifact, repo);
    const before = snapshot(repo);
    await expect(exportArtifactToTriton(next, repo, { verify: () => Promise.reject(new Error('verification failed: differs by 1')) })).rejects.toThrow('verification failed: differs by 1');
    expect(snapshot(repo)).toEqual(before);
  });

  it("refuses a model whose inputs or outputs differ from the folder's config.pbtxt, naming each difference, writing nothing", async () => {
    const repo = join(dir, 'signature');
    const pctr = await exportArtifactToTriton(artifact, repo, { outputs: ['pctr'] });
    const before = snapshot(repo);
    await expect(exportArtifactToTriton(next, repo)).rejects.toThrow(
      `the new model's inputs and outputs differ from ${pctr.configPath} (which serves every version): the new model's output 'pctavr' (TYPE_FP32 dims [1] reshape []) is not among the served outputs;`,
    );
    // Another architecture: ESMM has no CTAVR output, and its own input list.
    const esmm = zooModel('esmm');
    const other = artifactFromModel(esmm, smallSchema(), initWeights(esmm.graph, 1));
    await expect(exportArtifactToTriton(other, repo, { name: 'esm2', outputs: ['pctr', 'pcvr'] })).rejects.toThrow("the new model's output 'pcvr' (TYPE_FP32 dims [1] reshape []) is not among the served outputs");
    // A type or shape the config declares otherwise.
    const config = parseTritonConfig(readFileSync(pctr.configPath, 'utf8'), pctr.configPath);
    config.input.find((t) => t.name === 'tags')!.dims = [4];
    writeFileSync(pctr.configPath, formatTritonConfig(config));
    const edited = snapshot(repo);
    await expect(exportArtifactToTriton(next, repo, { outputs: ['pctr'] })).rejects.toThrow("input 'tags' is TYPE_INT32 dims [4], the new model's is TYPE_INT32 dims [3]");
    expect(snapshot(repo)).toEqual(edited);
    writeFileSync(pctr.configPath, readFileSync(pctr.configPath, 'utf8').replace('dims: [ 4 ]', 'dims: [ 3 ]'));
    expect(snapshot(repo)).toEqual(before);
    await expect(exportArtifactToTriton(next, repo, { outputs: ['pctr'] })).resolves.toMatchObject({ version: 2 });
  });

  it('keeps a hand-edited config.pbtxt as it is, refuses a --max-batch-size it does not have, and checks against the highest version when the config declares no tensors', async () => {
    const repo = join(dir, 'hand');
    const first = await exportArtifactToTriton(artifact, repo);
    const hand = 'name: "esm2"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 64\nversion_policy: { latest: { num_versions: 2 } }\n';
    writeFileSync(first.configPath, hand);
    await expect(exportArtifactToTriton(next, repo, { maxBatchSize: 128 })).rejects.toThrow(
      `${first.configPath} has max_batch_size 64, which serves every version; a new version cannot have 128: leave --max-batch-size out`,
    );
    // No tensors declared (Triton completes them from the model): the new model must match version 1's.
    await expect(exportArtifactToTriton(next, repo, { outputs: ['pctr'] })).rejects.toThrow(
      `the new model's inputs and outputs differ from version 1 (${first.model.path}; ${first.configPath} declares no inputs or outputs): output 'pctavr' (TYPE_FP32 dims [1] reshape []) is not an output of the new model`,
    );
    await expect(exportArtifactToTriton(next, repo, { maxBatchSize: 64 })).resolves.toMatchObject({ version: 2, configWritten: false, config: { max_batch_size: 64 } });
    expect(readFileSync(first.configPath, 'utf8')).toBe(hand);
  });

  it('writes the model under the config\'s default_model_filename, and refuses a folder for another backend', async () => {
    const repo = join(dir, 'filename');
    const first = await exportArtifactToTriton(artifact, repo);
    writeFileSync(first.configPath, readFileSync(first.configPath, 'utf8') + 'default_model_filename: "scorer.onnx"\n');
    const second = await exportArtifactToTriton(next, repo);
    expect(second.model.path).toBe(join(repo, 'esm2', '2', 'scorer.onnx'));
    await expect(tritonModelFile(second.dir)).resolves.toEqual({ file: second.model.path, name: 'esm2' });
    writeFileSync(first.configPath, 'name: "esm2"\nplatform: "tensorrt_plan"\n');
    const before = snapshot(repo);
    await expect(exportArtifactToTriton(next, repo)).rejects.toThrow(`${first.configPath}: not an ONNX Runtime model (platform tensorrt_plan, backend unset)`);
    expect(snapshot(repo)).toEqual(before);
  });
});

describe('tritonModelFile', () => {
  const folder = (name: string, config: string, versions: Record<string, string[]>) => {
    const d = join(dir, 'folders', name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.pbtxt'), config);
    for (const [v, files] of Object.entries(versions)) {
      mkdirSync(join(d, v), { recursive: true });
      for (const f of files) writeFileSync(join(d, v, f), 'onnx');
    }
    return d;
  };
  const onnxConfig = 'name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 4\n';

  it('is undefined for a directory without config.pbtxt (an artifact, a run)', async () => {
    mkdirSync(join(dir, 'plain'));
    await expect(tritonModelFile(join(dir, 'plain'))).resolves.toBeUndefined();
  });

  it('picks the numerically highest version (10 after 9 and 2), ignoring non-numeric entries', async () => {
    const d = folder('many', onnxConfig, { '2': ['model.onnx'], '9': ['model.onnx'], '10': ['model.onnx'], latest: ['model.onnx'] });
    await expect(tritonModelFile(d)).resolves.toMatchObject({ file: join(d, '10', 'model.onnx') });
  });

  it('honours default_model_filename and the onnxruntime backend spelling', async () => {
    const d = folder('named', 'name: "m"\nbackend: "onnxruntime"\ndefault_model_filename: "scorer.onnx"\n', { '1': ['scorer.onnx'] });
    await expect(tritonModelFile(d)).resolves.toMatchObject({ file: join(d, '1', 'scorer.onnx') });
  });

  it('names the path when there is no version, or the highest version holds no model', async () => {
    const none = folder('none', onnxConfig, {});
    await expect(tritonModelFile(none)).rejects.toThrow(`${none}: a Triton model folder with no version directory (expected ${join(none, '1', 'model.onnx')})`);
    const empty = folder('empty', onnxConfig, { '1': ['model.onnx'], '2': [] });
    await expect(tritonModelFile(empty)).rejects.toThrow(
      `${join(empty, '2', 'model.onnx')}: no such file; the Triton model folder ${empty} serves its highest version, 2, which holds no model.onnx`,
    );
  });

  it('refuses a default_model_filename that is a path (out of the version directory or into a subfolder)', async () => {
    for (const [i, file] of ['../../../m.onnx', 'sub/model.onnx', '..', '/tmp/m.onnx'].entries()) {
      const d = folder(`escape-${i}`, `${onnxConfig}default_model_filename: ${JSON.stringify(file)}\n`, { '1': ['model.onnx'] });
      await expect(tritonModelFile(d), file).rejects.toThrow(`${join(d, 'config.pbtxt')}: default_model_filename ${JSON.stringify(file)} must be a file name in the version directory, not a path`);
    }
  });

  it('refuses an empty name, and tensors whose name or data_type contradict the model, naming config.pbtxt and the field', async () => {
    const empty = folder('empty-name', 'name: ""\nplatform: "onnxruntime_onnx"\n', { '1': ['model.onnx'] });
    await expect(tritonModelFile(empty)).rejects.toThrow(`${join(empty, 'config.pbtxt')}: name is empty`);
    const repo = join(dir, 'repo-types');
    const written = await exportArtifactToTriton(artifact, repo);
    const text = readFileSync(written.configPath, 'utf8');
    const user = written.config.input.findIndex((t) => t.name === 'user');
    expect(written.config.input[user]!.data_type).toBe('TYPE_INT32');
    const config = (edit: (c: TritonModelConfig) => void) => {
      const c = structuredClone(written.config);
      edit(c);
      writeFileSync(written.configPath, formatTritonConfig(c));
    };
    config((c) => (c.input[user]!.data_type = 'TYPE_FP32'));
    await expect(tritonModelFile(written.dir)).rejects.toThrow(
      `${written.configPath}: input[${user}].data_type is TYPE_FP32 but input 'user' of ${written.model.path} is TYPE_INT32`,
    );
    config((c) => (c.output[0]!.data_type = 'TYPE_INT32'));
    await expect(tritonModelFile(written.dir)).rejects.toThrow(`${written.configPath}: output[0].data_type is TYPE_INT32 but output 'pctr' of ${written.model.path} is TYPE_FP32`);
    config((c) => (c.output[1]!.name = 'ctr'));
    await expect(tritonModelFile(written.dir)).rejects.toThrow(`${written.configPath}: output[1].name 'ctr' is not an output of ${written.model.path}`);
    config((c) => (c.input[0]!.name = ''));
    await expect(tritonModelFile(written.dir)).rejects.toThrow(`${written.configPath}: input[0].name is empty`);
    writeFileSync(written.configPath, text);
    await expect(tritonModelFile(written.dir)).resolves.toMatchObject({ name: 'esm2' });
  });

  it('refuses a model for another backend and names a broken config', async () => {
    const trt = folder('trt', 'name: "m"\nplatform: "tensorrt_plan"\n', { '1': ['model.plan'] });
    await expect(tritonModelFile(trt)).rejects.toThrow(`${join(trt, 'config.pbtxt')}: not an ONNX Runtime model (platform tensorrt_plan, backend unset)`);
    const broken = folder('broken', 'name: "m"\nplatform "onnxruntime_onnx"\n', { '1': ['model.onnx'] });
    await expect(tritonModelFile(broken)).rejects.toThrow(`${join(broken, 'config.pbtxt')}:2:10: expected ':' or '{', found '"onnxruntime_onnx"'`);
  });
});
