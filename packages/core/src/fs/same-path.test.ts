import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactInputs, NestedPathError, refuseInsideDirs, refuseSamePaths, SamePathError } from './same-path.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-same-path-'));
  await writeFile(join(dir, 'a.csv'), 'x\n1\n');
  await writeFile(join(dir, 'b.csv'), 'x\n2\n');
  await symlink(join(dir, 'a.csv'), join(dir, 'link.csv'));
  await link(join(dir, 'a.csv'), join(dir, 'hard.csv'));
  await mkdir(join(dir, 'real'));
  await symlink(join(dir, 'real'), join(dir, 'alias'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const p = (name: string) => join(dir, name);

describe('refuseSamePaths', () => {
  it('accepts distinct files, absent options and repeated inputs', async () => {
    await expect(
      refuseSamePaths(
        [{ flag: '--in', path: p('a.csv') }, undefined, { flag: '--common', path: p('a.csv') }],
        [{ flag: '--train', path: p('new-train.csv') }, { flag: '--test', path: p('b.csv') }, undefined],
      ),
    ).resolves.toBeUndefined();
  });

  it('an output that is an input, however it is spelt: relative, ./, symlink, hard link', async () => {
    const rel = relative(process.cwd(), p('a.csv'));
    for (const spelling of [p('a.csv'), rel, `./${rel}`, p('link.csv'), p('hard.csv'), join(dir, 'real', '..', 'a.csv')]) {
      const err = await refuseSamePaths([{ flag: '--in', path: p('a.csv') }], [{ flag: '--train', path: spelling }]).catch((e: unknown) => e);
      expect(err, spelling).toBeInstanceOf(SamePathError);
      expect((err as Error).message).toBe(`--train ${spelling} is the same file as --in ${p('a.csv')}: --train would overwrite the input --in; choose another output path`);
    }
  });

  it('two outputs naming one file, also when it does not exist yet (through a symlinked directory)', async () => {
    const err = (await refuseSamePaths([], [{ flag: '--train', path: p('real/out.csv') }, { flag: '--test', path: p('alias/out.csv') }]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SamePathError);
    expect(err.message).toContain('--train');
    expect(err.message).toContain('--test');
    expect(err.message).toContain(p('alias/out.csv'));
    await expect(refuseSamePaths([], [{ flag: '--out', path: p('real/x.csv') }, { flag: '--reject-file', path: p('real/y.csv') }])).resolves.toBeUndefined();
  });

  it('a model artifact read as input: an output onto one of its files is refused', async () => {
    await mkdir(join(dir, 'model'));
    await writeFile(join(dir, 'model', 'model.json'), '{}');
    await writeFile(join(dir, 'model', 'weights.bin'), '');
    const inputs = artifactInputs(join(dir, 'model'));
    expect(inputs).toEqual([
      { flag: '--model', path: join(dir, 'model', 'model.json') },
      { flag: '--model', path: join(dir, 'model', 'weights.bin') },
    ]);
    await expect(refuseSamePaths(inputs, [{ flag: '--onnx', path: join(dir, 'model', 'model.json') }])).rejects.toThrow('--onnx would overwrite the input --model');
    await expect(refuseSamePaths(inputs, [{ flag: '--onnx', path: join(dir, 'model', 'model.onnx') }])).resolves.toBeUndefined();
  });

  it('an output directory that is an input directory, however it is spelt: d/., d/../d, a symlink', async () => {
    await mkdir(join(dir, 'enc'));
    await symlink(join(dir, 'enc'), join(dir, 'enc-link'));
    for (const spelling of [p('enc'), `${p('enc')}/.`, join(dir, 'enc', '..', 'enc'), p('enc-link'), `${p('enc-link')}/`]) {
      const err = await refuseSamePaths([{ flag: '--encoders', path: p('enc') }], [{ flag: '--out', path: spelling }]).catch((e: unknown) => e);
      expect(err, spelling).toBeInstanceOf(SamePathError);
      expect((err as Error).message).toBe(`--out ${spelling} is the same directory as --encoders ${p('enc')}: --out would overwrite the input --encoders; choose another output path`);
    }
  });

  it('an output inside an input directory, an output directory holding an input or another output', async () => {
    await mkdir(join(dir, 'data.enc'), { recursive: true });
    const inside = (await refuseSamePaths([{ flag: '--data', path: p('data.enc') }], [{ flag: '--out', path: p('alias/../data.enc/run') }]).catch((e: unknown) => e)) as Error;
    expect(inside).toBeInstanceOf(NestedPathError);
    expect(inside.message).toBe(`--out ${p('alias/../data.enc/run')} is inside the input --data ${p('data.enc')}: its files would land among --data's; choose an --out outside --data`);
    const holds = (await refuseSamePaths([{ flag: '--config', path: p('real/c.yaml') }], [{ flag: '--out', path: p('alias') }]).catch((e: unknown) => e)) as Error;
    expect(holds).toBeInstanceOf(NestedPathError);
    expect(holds.message).toBe(`--out ${p('alias')} holds the input --config ${p('real/c.yaml')}: writing --out there would replace or mix with it; choose an --out that does not contain --config`);
    await expect(refuseSamePaths([], [{ flag: '--out', path: p('data.enc') }, { flag: '--reject-file', path: p('data.enc/r.csv') }])).rejects.toThrow(
      `--out ${p('data.enc')} holds --reject-file ${p('data.enc/r.csv')}`,
    );
    // Siblings and a name that merely starts like another are fine.
    await expect(refuseSamePaths([{ flag: '--data', path: p('data.enc') }], [{ flag: '--out', path: p('data.enc2') }, { flag: '--x', path: p('data.encx/y') }])).resolves.toBeUndefined();
  });
});

describe('refuseInsideDirs', () => {
  it('refuses an output inside a protected directory, existing or not, however it is spelt; accepts one beside it', async () => {
    const best = join(dir, 'run', 'best');
    await mkdir(best, { recursive: true });
    await symlink(join(dir, 'run'), join(dir, 'run-link'));
    const protectedDirs = [{ flag: '--model', path: best }];
    for (const path of [join(best, 'new.onnx'), join(dir, 'run', '.', 'best', 'sub', 'x'), join(dir, 'run-link', 'best', 'm.onnx'), best]) {
      await expect(refuseInsideDirs(protectedDirs, [{ flag: '--onnx', path }]), path).rejects.toThrow(`--onnx ${path} is inside --model ${best}, which is not for outputs`);
    }
    await expect(refuseInsideDirs(protectedDirs, [{ flag: '--onnx', path: join(dir, 'run', 'best.onnx') }, { flag: '--onnx', path: join(dir, 'run', '..best') }])).resolves.toBeUndefined();
  });
});
