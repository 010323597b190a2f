import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initWeights } from '../ir/init.js';
import { smallSchema } from '../testing.js';
import { buildModel } from '../zoo/index.js';
import { artifactFromModel } from '../artifact/artifact.js';
import { interruptedSwapDir, leftoverDirs, replaceDirAtomically } from './dir-swap.js';
import { readArtifact } from '../artifact/read.js';
import { writeArtifact } from '../artifact/write.js';

let parent: string;
let dir: string;
beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'esm2-artifact-atomic-'));
  dir = join(parent, 'out');
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

const writeOne = (content: string) => replaceDirAtomically(dir, (tmp) => writeFile(join(tmp, 'f'), content));

describe('replaceDirAtomically', () => {
  it('creates, then replaces, leaving only the directory itself', async () => {
    await writeOne('one');
    await writeOne('two');
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('two');
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('fills a recognisably named sibling of the target', async () => {
    let seen = '';
    await replaceDirAtomically(dir, async (tmp) => {
      seen = tmp;
      expect((await leftoverDirs(dir)).tmp).toEqual([tmp]);
    });
    expect(seen.startsWith(join(parent, `.out.tmp-${process.pid}-`))).toBe(true);
  });

  it('keeps the old directory and removes its temp dir when filling fails', async () => {
    await writeOne('old');
    await expect(
      replaceDirAtomically(dir, async (tmp) => {
        await writeFile(join(tmp, 'f'), 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readFile(join(dir, 'f'), 'utf8')).toBe('old');
    expect(await readdir(parent)).toEqual(['out']);
  });
});

describe('crash recovery', () => {
  const schema = smallSchema();
  const model = buildModel(schema, { model: 'dnn', towers: [8, 4] });
  const artifact = () => artifactFromModel(model, schema, initWeights(model.graph, 1));

  it('a crash between the two renames: readers get the complete previous artifact, the next write cleans up', async () => {
    await writeArtifact(dir, artifact());
    // The state right after `rename out → .out.old-…`, before the new one is renamed in.
    await rename(dir, join(parent, '.out.old-4242-deadbeef'));
    const live = `.out.tmp-${process.ppid}-deadbeef`;
    await mkdir(join(parent, live));
    expect(await interruptedSwapDir(dir)).toBe(join(parent, '.out.old-4242-deadbeef'));
    const back = await readArtifact(dir);
    expect(back.weights.size).toBe(model.graph.params.length);

    await writeArtifact(dir, artifact());
    // The set-aside copy is superseded; a temp dir of a running process may belong to a live writer, so it is left alone.
    expect((await readdir(parent)).sort()).toEqual([live, 'out']);
    expect(await interruptedSwapDir(dir)).toBeUndefined();
  });

  it('a crash while filling: the half-written temp dir never shadows the artifact', async () => {
    await writeArtifact(dir, artifact());
    await mkdir(join(parent, '.out.tmp-4242-cafe'));
    await writeFile(join(parent, '.out.tmp-4242-cafe', 'weights.bin'), 'partial');
    await expect(readArtifact(dir)).resolves.toBeDefined();
    expect(await leftoverDirs(dir)).toEqual({ tmp: [join(parent, '.out.tmp-4242-cafe')], old: [] });
  });
});
