import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateArtifact } from './locate.js';

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
});
