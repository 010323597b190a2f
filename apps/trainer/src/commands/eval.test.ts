import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { writeArtifact } from '@esm2/core/node';
import { smallSchema } from '@esm2/core/testing';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEvalCommand } from './eval.js';

const dir = mkdtempSync(join(tmpdir(), 'esm2-train-eval-'));
const artifactDir = join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  const model = buildModel(smallSchema(), { towers: [8] });
  await writeArtifact(artifactDir, artifactFromModel(model, smallSchema(), initWeights(model.graph, 1), { encoders: { fitted: true } }));
});

async function evalCli(...args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerEvalCommand(program);
  await program.parseAsync(['node', 'esm2-train', 'eval', ...args]);
}

describe('esm2-train eval', () => {
  it('refuses --out equal to --data or to a file of the model before reading or writing anything', async () => {
    const data = join(dir, 'test.csv');
    await writeFile(data, 'user,click,daction,buy\n1,1,0,0\n');
    await expect(evalCli('--model', artifactDir, '--data', data, '--out', data)).rejects.toThrow(`--out ${data} is the same file as --data ${data}: --out would overwrite the input --data`);
    const modelJson = join(artifactDir, 'model.json');
    const before = await readFile(modelJson, 'utf8');
    await expect(evalCli('--model', artifactDir, '--data', data, '--out', modelJson)).rejects.toThrow(`--out ${modelJson} is the same file as --model ${modelJson}`);
    // The default output, metrics.json beside the artifact, is not an input even when an earlier eval left one.
    await writeFile(join(artifactDir, 'metrics.json'), '{}');
    const err = (await evalCli('--model', artifactDir, '--data', data).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('same file'); // it gets past the check (and fails later on this stub's encoders)
    expect(await readFile(data, 'utf8')).toBe('user,click,daction,buy\n1,1,0,0\n');
    expect(await readFile(modelJson, 'utf8')).toBe(before);
  });
});
