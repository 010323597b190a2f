import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateArtifact, locateWarmStart } from './locate.js';

describe('locateArtifact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-locate-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prefers a run directory’s best/ artifact, accepts an artifact directory, and names what is wrong', async () => {
    await mkdir(join(dir, 'run/best'), { recursive: true });
    await writeFile(join(dir, 'run/best/model.json'), '{}');
    await mkdir(join(dir, 'art'));
    await writeFile(join(dir, 'art/model.json'), '{}');
    await mkdir(join(dir, 'empty'));
    expect(await locateArtifact(join(dir, 'run'))).toBe(join(dir, 'run/best'));
    expect(await locateArtifact(join(dir, 'art'))).toBe(join(dir, 'art'));
    await expect(locateArtifact(join(dir, 'empty'))).rejects.toThrow(`${join(dir, 'empty')}: neither a run directory (with best/model.json) nor a model artifact (with model.json)`);
    await expect(locateArtifact(join(dir, 'missing'))).rejects.toThrow(`${join(dir, 'missing')}: no such directory`);
  });

  it('finds where a warm start begins: a run directory’s checkpoint/, else an artifact directory, and names what is wrong', async () => {
    await mkdir(join(dir, 'run2/checkpoint'), { recursive: true });
    await mkdir(join(dir, 'run2/best'));
    await writeFile(join(dir, 'run2/checkpoint/model.json'), '{}');
    await writeFile(join(dir, 'run2/best/model.json'), '{}');
    await mkdir(join(dir, 'art2'));
    await writeFile(join(dir, 'art2/model.json'), '{}');
    await mkdir(join(dir, 'bestonly/best'), { recursive: true });
    await writeFile(join(dir, 'bestonly/best/model.json'), '{}');
    expect(await locateWarmStart(join(dir, 'run2'))).toEqual({ dir: join(dir, 'run2/checkpoint'), kind: 'checkpoint' });
    expect(await locateWarmStart(join(dir, 'run2/best'))).toEqual({ dir: join(dir, 'run2/best'), kind: 'artifact' });
    expect(await locateWarmStart(join(dir, 'art2'))).toEqual({ dir: join(dir, 'art2'), kind: 'artifact' });
    await expect(locateWarmStart(join(dir, 'bestonly'))).rejects.toThrow(`${join(dir, 'bestonly')}: neither a run directory (with checkpoint/model.json) nor a model artifact (with model.json)`);
    await expect(locateWarmStart(join(dir, 'missing'))).rejects.toThrow(`${join(dir, 'missing')}: no such directory`);
  });
});
