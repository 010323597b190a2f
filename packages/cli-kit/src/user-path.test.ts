import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { userCwd, userPath } from './user-path.js';

describe('userCwd', () => {
  it('is INIT_CWD (where pnpm was typed) for the root esm2-train / esm2-score scripts', () => {
    expect(userCwd({ INIT_CWD: '/home/someone/project/runs', npm_lifecycle_event: 'esm2-train' }, '/home/someone/project')).toBe('/home/someone/project/runs');
    expect(userCwd({ INIT_CWD: '/home/someone/project/runs', npm_lifecycle_event: 'esm2-score' }, '/home/someone/project')).toBe('/home/someone/project/runs');
  });

  it('is the working directory when INIT_CWD was only passed down by an outer script (pnpm exec, `cd sub && esm2-train`)', () => {
    expect(userCwd({ INIT_CWD: '/repo', npm_lifecycle_event: 'pack-check' }, '/tmp/scratch/app')).toBe('/tmp/scratch/app');
    expect(userCwd({ INIT_CWD: '/repo', npm_lifecycle_event: 'train' }, '/repo/sub')).toBe('/repo/sub');
    expect(userCwd({ INIT_CWD: '/repo' }, '/repo/sub')).toBe('/repo/sub');
  });

  it('is the working directory for an installed bin (no INIT_CWD)', () => {
    expect(userCwd({}, '/somewhere')).toBe('/somewhere');
    expect(userCwd({ npm_lifecycle_event: 'esm2-train' }, '/somewhere')).toBe('/somewhere');
  });
});

describe('userPath in a process of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'esm2-user-path-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const module = fileURLToPath(new URL('./user-path.ts', import.meta.url));
  // tsx from the workspace root (the child runs in a folder with no node_modules).
  const tsx = pathToFileURL(createRequire(fileURLToPath(new URL('../../../package.json', import.meta.url))).resolve('tsx')).href;
  const resolveIn = (cwd: string, env: Record<string, string>) => {
    const script = `const { userPath } = await import(${JSON.stringify(module)}); console.log(userPath('out/x.csv'));`;
    const { npm_lifecycle_event: _event, INIT_CWD: _init, ...rest } = process.env;
    const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { cwd, env: { ...rest, ...env }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('resolves against its own working directory when INIT_CWD names another folder (a nested pnpm exec)', () => {
    expect(resolveIn(dir, { INIT_CWD: tmpdir(), npm_lifecycle_event: 'pack-check' })).toBe(join(dir, 'out/x.csv'));
  });

  it('resolves against INIT_CWD under the root esm2-train script, absolute paths unchanged', () => {
    expect(resolveIn(tmpdir(), { INIT_CWD: dir, npm_lifecycle_event: 'esm2-train' })).toBe(join(dir, 'out/x.csv'));
    expect(userPath('/data/x.csv')).toBe('/data/x.csv');
    expect(resolve(userCwd({}, dir), 'a')).toBe(join(dir, 'a'));
  });
});
