import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, decodeModel, OnnxSession, parseTritonConfig, readOnnxInfo, readVerifiedOnnx, tritonModelFile, type ValueInfoProto } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, interpret } from '@esm2/core';
import { readArtifact, writeArtifact } from '@esm2/core/node';
import { smallSchema } from '@esm2/core/testing';
import { Encoders, batchToFeeds, openDataset, writeSynthetic } from '@esm2/data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTrainer } from '../test-support/cli.js';
import { exportCli } from '../test-support/export-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-train-export-'));
const run = join(dir, 'runs', 'demo');
/** fit writes the best epoch's artifact to runs/NAME/best. */
const best = join(run, 'best');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fitted encoders that reproduce core's smallSchema: a 6-value user vocabulary (7 rows with OOV), 11 item hash buckets, 4 tags. */
function smallEncoders() {
  const stats = { count: 10, mean: 0, std: 1, min: -2, max: 2 };
  const config = {
    csv: {},
    labels: { click: 'click', daction: ['daction'], buy: 'buy' },
    fields: [
      { kind: 'categorical' as const, name: 'user', column: 'user', encoding: { kind: 'vocabulary' as const, minCount: 1 } },
      { kind: 'categorical' as const, name: 'item', column: 'item', embeddingDim: 3, encoding: { kind: 'hash' as const, buckets: 11 } },
      { kind: 'multiCategorical' as const, name: 'tags', column: 'tags', encoding: { kind: 'vocabulary' as const, minCount: 1 }, separator: '|', maxLength: 3, pooling: 'mean' as const },
      { kind: 'numeric' as const, name: 'price', column: 'price', normalization: 'zscore' as const },
      { kind: 'numeric' as const, name: 'age', column: 'age', normalization: 'zscore' as const },
    ],
    userField: 'user',
    keys: [],
    truth: {},
  };
  const state = { vocabularies: { user: ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'], tags: ['a', 'b', 'c', 'd'] }, numeric: { price: stats, age: stats }, maxLength: { tags: 3 } };
  return new Encoders(config, state).toJSON();
}

beforeAll(async () => {
  expect(Encoders.fromJSON(smallEncoders()).schema).toEqual(smallSchema());
  const model = buildModel(smallSchema(), { towers: [8] });
  await writeArtifact(best, artifactFromModel(model, smallSchema(), initWeights(model.graph, 1), { encoders: smallEncoders() }));
});

describe('esm2-train export', () => {
  it('writes a verified ONNX model with the artifact schema and encoders', async () => {
    const out = join(dir, 'model.onnx');
    const text = await exportCli('--model', run, '--onnx', out);
    expect(text).toMatch(/verified: onnxruntime matches the reference interpreter/);
    const info = await readOnnxInfo(out);
    expect(info.encoders).toEqual(JSON.parse(JSON.stringify(smallEncoders())));
    expect(info.schema).toEqual(smallSchema());
    const session = await OnnxSession.load(out);
    expect([...session.outputNames]).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr', 'y1', 'y2', 'y3', 'y4']);
    await session.release();
  });

  it('also takes the artifact directory itself', async () => {
    const out = join(dir, 'direct.onnx');
    await exportCli('--model', best, '--onnx', out, '--no-verify');
    // The run and artifact names, not where they are on this machine.
    expect((await readOnnxInfo(out)).source).toBe('demo/best');
  });

  it('resolves relative paths against the directory pnpm was started from (INIT_CWD, under the root esm2-train script)', async () => {
    const saved = { init: process.env.INIT_CWD, event: process.env.npm_lifecycle_event };
    process.env.INIT_CWD = dir;
    process.env.npm_lifecycle_event = 'esm2-train';
    try {
      await exportCli('--model', 'runs/demo', '--onnx', 'relative.onnx', '--no-verify');
    } finally {
      if (saved.init === undefined) delete process.env.INIT_CWD;
      else process.env.INIT_CWD = saved.init;
      if (saved.event === undefined) delete process.env.npm_lifecycle_event;
      else process.env.npm_lifecycle_event = saved.event;
    }
    expect(existsSync(join(dir, 'relative.onnx'))).toBe(true);
  });

  it('honours --outputs, --model-version and --external-data-threshold', async () => {
    const out = join(dir, 'small.onnx');
    await exportCli('--model', run, '--onnx', out, '--outputs', 'pcvr,pctcvr', '--model-version', 'v7', '--external-data-threshold', '0');
    expect(existsSync(`${out}.data`)).toBe(true);
    const info = await readOnnxInfo(out);
    expect(info.outputs).toEqual(['pcvr', 'pctcvr']);
    expect(info.modelVersion).toBe('v7');
  });

  it('names an unknown output and a missing artifact', async () => {
    await expect(exportCli('--model', run, '--onnx', join(dir, 'x.onnx'), '--outputs', 'pctr,loss2')).rejects.toThrow(/unknown output\(s\) loss2/);
    await expect(exportCli('--model', join(dir, 'nope'), '--onnx', join(dir, 'y.onnx'))).rejects.toThrow(`--model ${join(dir, 'nope')}: no such directory`);
  });

  it('refuses an artifact whose encoders disagree with its schema (emptied vocabularies), naming the file and the fields, writing nothing', async () => {
    const edited = join(dir, 'runs', 'edited', 'best');
    const model = buildModel(smallSchema(), { towers: [8] });
    const encoders = smallEncoders();
    encoders.vocabularies = { user: [], tags: [] };
    await writeArtifact(edited, artifactFromModel(model, smallSchema(), initWeights(model.graph, 1), { encoders }));
    const out = join(dir, 'edited.onnx');
    await expect(exportCli('--model', edited, '--onnx', out)).rejects.toThrow(
      `${join(edited, 'model.json')}: the encoders do not match the model's feature schema: ` +
        "field 'user': the encoders give a vocabulary of 0 value(s), 2 rows with OOV (encoders.vocabularies.user) but its embedding table has 7 rows (vocabulary); " +
        "field 'tags': the encoders give a vocabulary of 0 value(s), 2 rows with OOV (encoders.vocabularies.tags) but its embedding table has 5 rows (vocabulary)",
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to write the ONNX file over a file of the model, before writing anything', async () => {
    const before = readdirSync(best).map((f) => [f, readFileSync(join(best, f)).toString('base64')]);
    for (const f of ['model.json', 'weights.bin']) {
      await expect(exportCli('--model', run, '--onnx', join(best, f))).rejects.toThrow(`--onnx ${join(best, f)} is the same file as --model ${join(best, f)}: --onnx would overwrite the input --model`);
    }
    expect(readdirSync(best).map((f) => [f, readFileSync(join(best, f)).toString('base64')])).toEqual(before);
  });
});

/** sha256 of every file under `root` (relative path → hash), to show a refused export touched nothing. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(root.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

describe('esm2-train export: a failure leaves every earlier file as it was', () => {
  const area = join(dir, 'failures');
  const good = join(area, 'm.onnx');
  beforeAll(async () => {
    mkdirSync(area, { recursive: true });
    await exportCli('--model', run, '--onnx', good);
  });

  it('refuses --outputs naming one output twice before writing', async () => {
    const before = snapshot(area);
    await expect(exportCli('--model', run, '--onnx', good, '--outputs', 'pctr,pctr')).rejects.toThrow('--outputs names pctr twice');
    expect(snapshot(area)).toEqual(before);
  });

  it('refuses --outputs without a prediction (towers alone cannot be scored) before writing', async () => {
    const before = snapshot(area);
    await expect(exportCli('--model', run, '--onnx', good, '--outputs', 'y1')).rejects.toThrow(
      '--outputs y1 holds no prediction: give at least one of pctr, pctavr, pcvr, pctcvr (towers such as y1 come along beside it, e.g. --outputs pctcvr,y1)',
    );
    await expect(exportCli('--model', run, '--triton', area, '--outputs', 'y1,y2')).rejects.toThrow('--outputs y1,y2 holds no prediction');
    expect(snapshot(area)).toEqual(before);
  });

  it('refuses an artifact whose vocabulary lists a category twice (--raw-features or not), naming model.json, before writing', async () => {
    const dup = join(dir, 'runs', 'dup', 'best');
    const model = buildModel(smallSchema(), { towers: [8] });
    const encoders = smallEncoders();
    encoders.vocabularies = { ...encoders.vocabularies, user: ['u1', 'u2', 'u3', 'u4', 'u2', 'u6'] };
    await writeArtifact(dup, artifactFromModel(model, smallSchema(), initWeights(model.graph, 1), { encoders }));
    const before = snapshot(area);
    for (const extra of [['--raw-features'], []]) {
      await expect(exportCli('--model', dup, '--onnx', good, ...extra)).rejects.toThrow(
        `${join(dup, 'model.json')}: invalid encoders JSON: vocabularies.user.4: "u2" is listed twice (entries 1 and 4); each category has one id`,
      );
    }
    expect(snapshot(area)).toEqual(before);
  });

  it('refuses a Triton model name too long for a directory, before writing', async () => {
    const name = 'n'.repeat(300);
    await expect(exportCli('--model', run, '--triton', area, '--name', name)).rejects.toThrow(
      `option '--name <name>' argument '${name}' is invalid. Triton model name 'nnnnnnnnnnnnnnnnnnnn…' is 300 characters long; at most 200`,
    );
    await exportCli('--model', run, '--triton', area, '--name', 'n'.repeat(200), '--no-verify');
    expect(existsSync(join(area, 'n'.repeat(200), '1', 'model.onnx'))).toBe(true);
  });
});

describe('esm2-train export refuses every file of the run as its output', () => {
  const runDir = join(dir, 'runs', 'full');
  beforeAll(() => {
    // A run as fit leaves it: best/, checkpoint/, history.json, metrics.json from eval.
    cpSync(best, join(runDir, 'best'), { recursive: true });
    cpSync(best, join(runDir, 'checkpoint'), { recursive: true });
    writeFileSync(join(runDir, 'history.json'), '[{"epoch":1}]\n');
    writeFileSync(join(runDir, 'metrics.json'), '{}\n');
  });

  it('for --onnx, given the run or its best/, naming the path; nothing changes', async () => {
    const before = snapshot(runDir);
    for (const model of [runDir, join(runDir, 'best')]) {
      for (const f of ['history.json', 'metrics.json', 'checkpoint/model.json', 'checkpoint/weights.bin', 'best/weights.bin']) {
        const target = join(runDir, f);
        await expect(exportCli('--model', model, '--onnx', target), `${model} → ${f}`).rejects.toThrow(`--onnx ${target} is the same file as --model ${target}`);
      }
      for (const f of ['best/new.onnx', 'checkpoint/new.onnx']) {
        const target = join(runDir, f);
        await expect(exportCli('--model', model, '--onnx', target), `${model} → ${f}`).rejects.toThrow(`--onnx ${target} is inside --model ${dirname(target)}, which is not for outputs`);
      }
    }
    expect(snapshot(runDir)).toEqual(before);
  });

  it('for --triton, inside an artifact of the run; an export beside them in the run directory is fine', async () => {
    const before = snapshot(runDir);
    await expect(exportCli('--model', runDir, '--triton', join(runDir, 'best'))).rejects.toThrow(
      `--triton ${join(runDir, 'best', 'esm2')} is inside --model ${join(runDir, 'best')}, which is not for outputs`,
    );
    expect(snapshot(runDir)).toEqual(before);
    await exportCli('--model', runDir, '--onnx', join(runDir, 'model.onnx'));
    await exportCli('--model', runDir, '--onnx', join(runDir, 'model.onnx'));
    expect(snapshot(runDir)).toMatchObject(before);
  });
});

describe('esm2-train export --triton', () => {
  const repo = join(dir, 'triton-repo');
  /** Triton's names for the ONNX element types this project exports (Triton's model_config.proto DataType). */
  const TRITON_TYPE: Record<number, string> = { [DataType.FLOAT]: 'TYPE_FP32', [DataType.INT32]: 'TYPE_INT32', [DataType.INT64]: 'TYPE_INT64' };

  /** What Triton must be told about one ONNX tensor: its type, and its shape without the leading batch dimension. */
  function expectTensor(config: { name: string; data_type: string; dims: number[]; reshape?: { shape: number[] } } | undefined, onnx: ValueInfoProto) {
    expect(config, onnx.name).toBeDefined();
    const [batch, ...rest] = onnx.type.tensor_type.shape.dim;
    expect(batch, `${onnx.name}: ONNX batch dim`).toHaveProperty('dim_param');
    expect(config!.data_type, onnx.name).toBe(TRITON_TYPE[onnx.type.tensor_type.elem_type]);
    const modelDims = rest.map((d) => ('dim_value' in d ? d.dim_value : -1));
    if (modelDims.length === 0) {
      // Triton wants dims of rank ≥ 1: a [batch] tensor is [batch, 1] to clients and reshaped to [batch] for the model.
      expect(config!.dims, onnx.name).toEqual([1]);
      expect(config!.reshape, onnx.name).toEqual({ shape: [] });
    } else {
      expect(config!.dims, onnx.name).toEqual(modelDims);
      expect(config!.reshape, onnx.name).toBeUndefined();
    }
  }

  it('writes <dir>/esm2/config.pbtxt and <dir>/esm2/1/model.onnx whose every input and output matches the ONNX model', async () => {
    const text = await exportCli('--model', run, '--triton', repo);
    expect(text).toMatch(/verified: onnxruntime matches the reference interpreter/);
    expect(readdirSync(repo)).toEqual(['esm2']);
    expect(readdirSync(join(repo, 'esm2')).sort()).toEqual(['1', 'config.pbtxt']);
    expect(readdirSync(join(repo, 'esm2', '1'))).toEqual(['model.onnx']);
    const configPath = join(repo, 'esm2', 'config.pbtxt');
    const config = parseTritonConfig(readFileSync(configPath, 'utf8'), configPath);
    expect(config).toMatchObject({
      name: 'esm2',
      platform: 'onnxruntime_onnx',
      max_batch_size: 4096,
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    });
    expect(config.dynamic_batching?.max_queue_delay_microseconds).toBeGreaterThan(0);

    const modelPath = join(repo, 'esm2', '1', 'model.onnx');
    const session = await OnnxSession.load(modelPath);
    const inputNames = [...session.inputNames];
    const outputNames = [...session.outputNames];
    await session.release();
    expect(config.input.map((t) => t.name)).toEqual(inputNames);
    expect(config.output.map((t) => t.name)).toEqual(outputNames);
    expect(outputNames).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr', 'y1', 'y2', 'y3', 'y4']);
    const graph = decodeModel(readFileSync(modelPath)).graph;
    const feeds = graph.input.filter((v) => !graph.initializer.some((t) => t.name === v.name));
    expect(feeds.map((v) => v.name)).toEqual(inputNames);
    for (const v of feeds) expectTensor(config.input.find((t) => t.name === v.name), v);
    for (const v of graph.output) expectTensor(config.output.find((t) => t.name === v.name), v);
    // Not every tensor is a plain [batch] one: the multi-valued field keeps its own dimension.
    expect(config.input.find((t) => t.name === 'tags')).toEqual({ name: 'tags', data_type: 'TYPE_INT32', dims: [3] });
    // The same model the --onnx export writes, schema and encoders included.
    expect((await readOnnxInfo(modelPath)).schema).toEqual(smallSchema());
  });

  it('honours --name, --max-batch-size and --outputs', async () => {
    await exportCli('--model', run, '--triton', repo, '--name', 'ctr_model', '--max-batch-size', '64', '--outputs', 'pctr', '--no-verify');
    const configPath = join(repo, 'ctr_model', 'config.pbtxt');
    const config = parseTritonConfig(readFileSync(configPath, 'utf8'), configPath);
    expect(config.name).toBe('ctr_model');
    expect(config.max_batch_size).toBe(64);
    expect(config.output.map((t) => t.name)).toEqual(['pctr']);
  });

  it('refuses an existing <dir>/<name> that is not a Triton model folder of an ONNX model, leaving it untouched', async () => {
    const existing = join(repo, 'taken');
    mkdirSync(join(existing, '7'), { recursive: true });
    await expect(exportCli('--model', run, '--triton', repo, '--name', 'taken')).rejects.toThrow(
      `--triton ${existing} already exists and is not a Triton model folder (no config.pbtxt); remove it or export under another model name`,
    );
    writeFileSync(join(existing, 'config.pbtxt'), 'name: "taken"\n');
    await expect(exportCli('--model', run, '--triton', repo, '--name', 'taken')).rejects.toThrow(
      `--triton ${join(existing, 'config.pbtxt')}: not an ONNX Runtime model (platform unset, backend unset)`,
    );
    expect(readdirSync(existing).sort()).toEqual(['7', 'config.pbtxt']);
    expect(readdirSync(join(existing, '7'))).toEqual([]);
    expect(readFileSync(join(existing, 'config.pbtxt'), 'utf8')).toBe('name: "taken"\n');
    expect(readdirSync(repo).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('refuses a bad --max-batch-size or --name, and --triton with --onnx, writing nothing', async () => {
    const fresh = join(dir, 'triton-refused');
    for (const bad of ['0', '-3', '2.5', 'lots']) {
      await expect(exportCli('--model', run, '--triton', fresh, '--max-batch-size', bad)).rejects.toThrow(`option '--max-batch-size <n>' argument '${bad}' is invalid. expected a positive whole number`);
    }
    await expect(exportCli('--model', run, '--triton', fresh, '--max-batch-size', String(2 ** 31))).rejects.toThrow('max_batch_size must be an integer from 1 to 2147483647, got 2147483648');
    for (const bad of ['../up', 'a/b', '.hidden', '']) {
      await expect(exportCli('--model', run, '--triton', fresh, '--name', bad)).rejects.toThrow(`option '--name <name>' argument '${bad}' is invalid. Triton model name`);
    }
    await expect(exportCli('--model', run, '--triton', fresh, '--onnx', join(dir, 'both.onnx'))).rejects.toThrow('give one of --onnx <file> or --triton <dir>');
    await expect(exportCli('--model', run, '--onnx', join(dir, 'named.onnx'), '--name', 'x')).rejects.toThrow('--name applies to --triton only');
    await expect(exportCli('--model', run, '--onnx', join(dir, 'named.onnx'), '--version', '2')).rejects.toThrow('--version applies to --triton only');
    for (const bad of ['0', '-1', '1.5']) {
      await expect(exportCli('--model', run, '--triton', fresh, '--version', bad)).rejects.toThrow(`option '--version <n>' argument '${bad}' is invalid. expected a positive whole number`);
    }
    expect(existsSync(fresh)).toBe(false);
    expect(existsSync(join(dir, 'both.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'named.onnx'))).toBe(false);
  });

  it('names a --triton path that is a file and leaves nothing behind', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    await expect(exportCli('--model', run, '--triton', file, '--no-verify')).rejects.toThrow(`--triton ${file} is not a directory`);
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(readdirSync(dir).filter((e) => e.startsWith('.'))).toEqual([]);
  });
});

describe('esm2-train export --triton into a repository that holds the model already', () => {
  const area = join(dir, 'daily');
  const repo = join(area, 'models');
  /** The next day's model: the same architecture and encoders, other weights. */
  const tomorrow = join(area, 'tomorrow');
  beforeAll(async () => {
    const model = buildModel(smallSchema(), { towers: [8] });
    await writeArtifact(tomorrow, artifactFromModel(model, smallSchema(), initWeights(model.graph, 2), { encoders: smallEncoders() }));
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('two exports give versions 1 and 2, each verified and loadable; version 1 and config.pbtxt keep every byte', async () => {
    const first = await exportCli('--model', run, '--triton', repo);
    expect(first).toContain(`wrote Triton model 'esm2' version 1 in ${join(repo, 'esm2')}: ${join(repo, 'esm2', 'config.pbtxt')} and ${join(repo, 'esm2', '1', 'model.onnx')}`);
    const before = snapshot(repo);
    const second = await exportCli('--model', tomorrow, '--triton', repo);
    expect(second).toContain(`wrote Triton model 'esm2' version 2 in ${join(repo, 'esm2')}: ${join(repo, 'esm2', '2', 'model.onnx')}`);
    expect(second).toContain(`kept ${join(repo, 'esm2', 'config.pbtxt')} (same inputs and outputs)`);
    expect(second).toContain(`versions in ${join(repo, 'esm2')}: 1, 2`);
    expect(second).toMatch(/verified: onnxruntime matches the reference interpreter/);
    const after = snapshot(repo);
    for (const [path, hash] of Object.entries(before)) expect(after[path], path).toBe(hash);
    expect(Object.keys(after).filter((p) => !(p in before))).toEqual(['/' + join('esm2', '2', 'model.onnx')]);
    expect(readdirSync(join(repo, 'esm2')).sort()).toEqual(['1', '2', 'config.pbtxt']);
    // The scorer's reader of a Triton folder serves the highest version; both versions load and score, and differ.
    await expect(tritonModelFile(join(repo, 'esm2'))).resolves.toEqual({ file: join(repo, 'esm2', '2', 'model.onnx'), name: 'esm2' });
    const scores: number[][] = [];
    for (const v of ['1', '2']) {
      const path = join(repo, 'esm2', v, 'model.onnx');
      expect((await readVerifiedOnnx(path)).checksum, path).toBe('verified');
      const session = await OnnxSession.load(path);
      try {
        const out = await session.run({
          user: { shape: [2], data: new Int32Array([1, 2]) },
          item: { shape: [2], data: new Int32Array([3, 4]) },
          tags: { shape: [2, 3], data: new Int32Array([1, 2, 0, 3, 0, 0]) },
          price: { shape: [2], data: new Float32Array([0.5, -1]) },
          age: { shape: [2], data: new Float32Array([0, 1]) },
        });
        scores.push([...out.pctcvr!.data]);
      } finally {
        await session.release();
      }
    }
    expect(scores[0]).not.toEqual(scores[1]);
  });

  it('--version N writes N; a taken --version is refused through the real command line, exit 1, nothing written', async () => {
    const explicit = join(area, 'explicit');
    const written = await runTrainer('export', '--model', run, '--triton', explicit, '--version', '5');
    expect(written).toMatchObject({ code: 0 });
    expect(written.out).toContain(`wrote Triton model 'esm2' version 5 in ${join(explicit, 'esm2')}`);
    const before = snapshot(explicit);
    const refused = await runTrainer('export', '--model', tomorrow, '--triton', explicit, '--version', '5');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      `esm2-train: --triton ${join(explicit, 'esm2', '5')} already exists: version 5 of 'esm2' is taken and is never replaced (it may be serving); give another --version, or none to write 6`,
    );
    expect(snapshot(explicit)).toEqual(before);
    const next = await runTrainer('export', '--model', tomorrow, '--triton', explicit);
    expect(next.out).toContain(`wrote Triton model 'esm2' version 6 in ${join(explicit, 'esm2')}`);
  });

  it("refuses a model whose outputs differ from the folder's config.pbtxt, and another --max-batch-size, naming them, nothing written", async () => {
    const narrow = join(area, 'narrow');
    await exportCli('--model', run, '--triton', narrow, '--outputs', 'pctr,pctcvr', '--no-verify');
    const before = snapshot(narrow);
    const configPath = join(narrow, 'esm2', 'config.pbtxt');
    await expect(exportCli('--model', tomorrow, '--triton', narrow)).rejects.toThrow(
      `--triton the new model's inputs and outputs differ from ${configPath} (which serves every version): the new model's output 'pctavr' (TYPE_FP32 dims [1] reshape []) is not among the served outputs;`,
    );
    await expect(exportCli('--model', tomorrow, '--triton', narrow, '--outputs', 'pctr,pctcvr', '--max-batch-size', '64')).rejects.toThrow(
      `--triton ${configPath} has max_batch_size 4096, which serves every version; a new version cannot have 64`,
    );
    expect(snapshot(narrow)).toEqual(before);
    await expect(exportCli('--model', tomorrow, '--triton', narrow, '--outputs', 'pctr,pctcvr')).resolves.toContain('version 2');
  });
});

describe('esm2-train export --id-type', () => {
  const area = join(dir, 'id-type');
  const feeds = {
    user: { shape: [3], data: new Int32Array([1, 0, 6]) },
    item: { shape: [3], data: new Int32Array([3, 10, 0]) },
    tags: { shape: [3, 3], data: new Int32Array([1, 2, -1, -1, -1, -1, 4, 4, 3]) },
    price: { shape: [3], data: new Float32Array([0.5, -1, 2]) },
    age: { shape: [3], data: new Float32Array([0, 1, -0.25]) },
  };
  beforeAll(() => void mkdirSync(area, { recursive: true }));
  const idTypes = (path: string) => new Set(decodeModel(readFileSync(path)).graph.input.filter((v) => v.name !== 'price' && v.name !== 'age').map((v) => v.type.tensor_type.elem_type));

  it('writes int32 id inputs by default and int64 ones with --id-type int64; both verify and score the same rows identically', async () => {
    const [int32, int64] = [join(area, 'ids32.onnx'), join(area, 'ids64.onnx')];
    expect(await exportCli('--model', run, '--onnx', int32)).toMatch(/ids int32\nverified: onnxruntime matches the reference interpreter/);
    expect(await exportCli('--model', run, '--onnx', int64, '--id-type', 'int64')).toMatch(/ids int64\nverified: onnxruntime matches the reference interpreter/);
    expect(idTypes(int32)).toEqual(new Set([DataType.INT32]));
    expect(idTypes(int64)).toEqual(new Set([DataType.INT64]));
    const scores = [];
    for (const path of [int32, int64]) {
      const session = await OnnxSession.load(path);
      scores.push(await session.run(feeds));
      await session.release();
    }
    expect(scores[0]).toEqual(scores[1]);
  });

  it('refuses an unknown --id-type, and --id-type with --raw-features, writing nothing', async () => {
    const out = join(area, 'refused.onnx');
    await expect(exportCli('--model', run, '--onnx', out, '--id-type', 'int16')).rejects.toThrow(`option '--id-type <type>' argument 'int16' is invalid. expected 'int32' or 'int64'`);
    await expect(exportCli('--model', run, '--onnx', out, '--raw-features', '--id-type', 'int64')).rejects.toThrow(
      '--id-type applies to id inputs; a --raw-features export takes strings and floats (its encoders make int64 ids inside the graph): leave one out',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('into a Triton folder served with int64 ids, refuses an int32 version naming the inputs and both types, and adds one with --id-type int64', async () => {
    const repo = join(area, 'triton64');
    await exportCli('--model', run, '--triton', repo, '--id-type', 'int64', '--no-verify');
    const configPath = join(repo, 'esm2', 'config.pbtxt');
    expect(parseTritonConfig(readFileSync(configPath, 'utf8'), configPath).input.find((t) => t.name === 'tags')).toEqual({ name: 'tags', data_type: 'TYPE_INT64', dims: [3] });
    const before = snapshot(repo);
    const refused = exportCli('--model', run, '--triton', repo);
    await expect(refused).rejects.toThrow(
      `--triton the new model's inputs and outputs differ from ${configPath} (which serves every version): input 'user' is TYPE_INT64 dims [1] reshape [], the new model's is TYPE_INT32 dims [1] reshape [];`,
    );
    await expect(refused).rejects.toThrow("input 'tags' is TYPE_INT64 dims [3], the new model's is TYPE_INT32 dims [3]. Triton serves");
    await expect(refused).rejects.toThrow('its clients send TYPE_INT64 ids: export with --id-type int64 to add this version, or under another --name (a new model) or into another repository');
    expect(snapshot(repo)).toEqual(before);
    await expect(exportCli('--model', run, '--triton', repo, '--id-type', 'int64')).resolves.toContain('version 2');
    expect(idTypes(join(repo, 'esm2', '2', 'model.onnx'))).toEqual(new Set([DataType.INT64]));
  });
});

describe('export of a model trained by esm2-train fit', () => {
  it('scores real encoded rows exactly like the reference interpreter (within 1e-5)', async () => {
    const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    await writeSynthetic(join(dir, 'train.csv'), { rows: 2000, seed: 8 });
    const fit = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'fit', '--data', 'train.csv', '--model', 'esm2', '--out', 'runs/trained', '--epochs', '1', '--batch-size', '100', '--towers', '16,8', '--embedding-dim', '4', '--lr', '0.01'],
      { cwd: trainerDir, env: { ...process.env, ESM2_TFJS_BACKEND: 'cpu', INIT_CWD: dir, npm_lifecycle_event: 'esm2-train' }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(fit.status, fit.stderr).toBe(0);
    const out = join(dir, 'trained.onnx');
    await exportCli('--model', join(dir, 'runs', 'trained'), '--onnx', out);

    const artifact = await readArtifact(join(dir, 'runs', 'trained', 'best'));
    const encoders = Encoders.fromJSON((await readOnnxInfo(out)).encoders);
    const outputs = [...artifact.model.predictions, ...artifact.model.towers];
    const session = await OnnxSession.load(out);
    let rows = 0;
    for await (const batch of openDataset(join(dir, 'train.csv'), { encoders, batchSize: 500 })) {
      const feeds = batchToFeeds(artifact.graph, batch);
      const want = interpret(artifact.graph, artifact.weights, feeds, { outputs });
      const got = await session.run(feeds, outputs);
      for (const o of outputs) {
        const w = want[o]!.data;
        const g = got[o]!.data;
        let worst = 0;
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i]! - w[i]!));
        expect(worst, o).toBeLessThan(1e-5);
      }
      rows += batch.size;
    }
    await session.release();
    expect(rows).toBe(2000);
  });
});
