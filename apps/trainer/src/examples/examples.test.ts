import { readArtifact } from '@esm2/core/node';
import { writeSynthetic } from '@esm2/data';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit } from '../api.js';
import { loadFitConfig } from '../train/fit-config.js';

/** apps/trainer/examples: the configs the READMEs point users to. */
const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));
const examples = (await readdir(examplesDir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-examples-'));
  // What `esm2-train data generate` writes, small.
  await writeSynthetic(join(dir, 'train.csv'), { rows: 3000, seed: 1 });
  await writeSynthetic(join(dir, 'valid.csv'), { rows: 2000, seed: 2, worldSeed: 1 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('apps/trainer/examples', () => {
  it('holds the fit config the READMEs name', () => {
    expect(examples).toContain('fit-config.yaml');
  });

  it.each(examples)('%s loads and trains on generated data (one epoch)', async (name) => {
    const config = join(examplesDir, name);
    const out = join(dir, `run-${name}`);
    const result = await fit({ train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), config, out, epochs: 1 });
    expect(result.position.epoch).toBe(1);
    const artifact = await readArtifact(result.bestArtifact);
    expect(artifact.model.config).toMatchObject((await loadFitConfig(config)).model ?? {});
  });
});
