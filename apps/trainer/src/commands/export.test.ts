import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession, readOnnxInfo } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, initWeights, interpret, readArtifact, writeArtifact } from '@esm2/core';
import { smallSchema } from '@esm2/core/testing';
import { Encoders, batchToFeeds, openDataset, writeSynthetic } from '@esm2/data';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerExportCommand } from './export.js';

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

async function exportCli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerExportCommand(program);
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(['node', 'esm2-train', 'export', ...args]);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    log.mockRestore();
  }
}

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
    expect((await readOnnxInfo(out)).source).toBe(best);
  });

  it('resolves relative paths against the directory pnpm was started from (INIT_CWD)', async () => {
    const saved = process.env.INIT_CWD;
    process.env.INIT_CWD = dir;
    try {
      await exportCli('--model', 'runs/demo', '--onnx', 'relative.onnx', '--no-verify');
    } finally {
      if (saved === undefined) delete process.env.INIT_CWD;
      else process.env.INIT_CWD = saved;
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

describe('export of a model trained by esm2-train fit', () => {
  it('scores real encoded rows exactly like the reference interpreter (within 1e-5)', async () => {
    const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    await writeSynthetic(join(dir, 'train.csv'), { rows: 2000, seed: 8 });
    const fit = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'fit', '--data', 'train.csv', '--model', 'esm2', '--out', 'runs/trained', '--epochs', '1', '--batch-size', '100', '--towers', '16,8', '--embedding-dim', '4', '--lr', '0.01'],
      { cwd: trainerDir, env: { ...process.env, ESM2_TFJS_BACKEND: 'cpu', INIT_CWD: dir }, encoding: 'utf8', timeout: 120_000 },
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
