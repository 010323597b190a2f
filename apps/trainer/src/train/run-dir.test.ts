import { writeSynthetic } from '@esm2/data';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit, missingLabelWarning } from '../api.js';
import { spawnCli, stderrLine } from '../test-support/cli.js';
import { lockRunDir, runPaths } from './run-dir.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-run-lock-'));
  await writeSynthetic(join(dir, 'train.csv'), { rows: 400, seed: 5 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited: nothing runs under it now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

const small = { model: 'esm2', epochs: 1, batchSize: 100, towers: [4], embeddingDim: 2, seed: 1 };

describe('run directory lock', () => {
  it('a second writer is refused with the holder pid and start time; release frees it', async () => {
    const run = join(dir, 'runs/a');
    const lock = await lockRunDir(run);
    const owner = JSON.parse(await readFile(lock.path, 'utf8')) as { pid: number; host: string; since: string };
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(lockRunDir(run)).rejects.toThrow(`${run} is being written by pid ${process.pid} (since ${owner.since})`);
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    const again = await lockRunDir(run);
    await again.release();
  });

  it('a lock whose process is gone is taken over, with a message', async () => {
    const run = join(dir, 'runs/stale');
    await mkdir(run, { recursive: true });
    const pid = deadPid();
    await writeFile(runPaths(run).lock, JSON.stringify({ pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const messages: string[] = [];
    const lock = await lockRunDir(run, { onTakeover: (m) => messages.push(m) });
    expect(messages).toEqual([`${run}: taking over the lock of pid ${pid} (since 2026-01-01T00:00:00.000Z), which is no longer running`]);
    expect((JSON.parse(await readFile(lock.path, 'utf8')) as { pid: number }).pid).toBe(process.pid);
    await lock.release();
  });

  it('checks --out before anything: a file, or a directory that cannot be created, is named; an empty run dir it made is removed again', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(lockRunDir(file)).rejects.toThrow(`--out ${file} is a file; give a run directory`);
    await expect(lockRunDir(join(file, 'run'))).rejects.toThrow(`--out ${join(file, 'run')}: cannot create the run directory: a parent of it is a file`);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'read-only');
      await mkdir(ro);
      await chmod(ro, 0o500);
      await expect(lockRunDir(join(ro, 'run'))).rejects.toThrow(`--out ${join(ro, 'run')}: cannot create the run directory: permission denied`);
      await chmod(ro, 0o700);
    }
    const fresh = join(dir, 'runs/fresh');
    const lock = await lockRunDir(fresh);
    await lock.release();
    expect(existsSync(fresh)).toBe(false);
  });

  it('fit() on an --out that is a file fails before reading any data; on a stale lock it takes over and trains', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    await expect(fit({ ...small, train: join(dir, 'missing.csv'), out: file })).rejects.toThrow(/is a file; give a run directory/);
    const run = join(dir, 'runs/taken');
    await mkdir(run, { recursive: true });
    const pid = deadPid();
    await writeFile(runPaths(run).lock, JSON.stringify({ pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const logs: string[] = [];
    const result = await fit({ ...small, train: join(dir, 'train.csv'), out: run, reporter: { log: (m) => logs.push(m) } });
    expect(result.position.epoch).toBe(1);
    expect(logs[0]).toBe(`${run}: taking over the lock of pid ${pid} (since 2026-01-01T00:00:00.000Z), which is no longer running`);
    expect(existsSync(runPaths(run).lock)).toBe(false);
  });

  it('esm2-train fit on a run directory another process holds exits 1 naming that pid, before reading data', async () => {
    const run = join(dir, 'runs/busy');
    const lock = await lockRunDir(run);
    try {
      const { done } = spawnCli(['fit', '--data', 'missing.csv', '--model', 'esm2', '--out', 'runs/busy'], dir);
      const { code, stderr } = await done;
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^esm2-train: ${run} is being written by pid ${process.pid} \\(since `));
      expect(stderr).not.toMatch(/missing\.csv/);
    } finally {
      await lock.release();
    }
  });
});

describe('run directory lock and signals', () => {
  it('SIGTERM during esm2-train fit removes its lock file and exits 143 like the default handler', async () => {
    const { child, done } = spawnCli(['fit', '--data', 'train.csv', '--model', 'esm2', '--out', 'runs/signalled', '--epochs', '50', '--batch-size', '20', '--towers', '4', '--embedding-dim', '2'], dir);
    // Training has started (the lock is held) once the engine is reported.
    await stderrLine(child, 'engine: ', 'training started');
    const lock = runPaths(join(dir, 'runs/signalled')).lock;
    expect((JSON.parse(await readFile(lock, 'utf8')) as { pid: number }).pid).toBe(child.pid);
    child.kill('SIGTERM');
    const { code, signal } = await done;
    expect({ code, signal }).toEqual({ code: 143, signal: null });
    expect(existsSync(lock)).toBe(false);
  });
});

describe('fit on data without DAction labels', () => {
  it('warns that ESM2 degenerates to ESMM, naming the file and what to do; silent for ESMM or with DAction', () => {
    const esm2 = { model: 'esm2', lossWeights: { ctr: 1, ctavr: 1, ctcvr: 1 } } as Parameters<typeof missingLabelWarning>[1];
    const w = missingLabelWarning('/d/aliccp.csv', esm2, { daction: [] });
    expect(w).toMatch(/^warning: \/d\/aliccp\.csv has no DAction label column/);
    expect(w).toMatch(/makes ESM2 an ESMM/);
    expect(w).toMatch(/--model esmm/);
    expect(missingLabelWarning('/d/ub.csv', esm2, { daction: ['cart', 'fav'] })).toBeUndefined();
    expect(missingLabelWarning('/d/aliccp.csv', { ...esm2, model: 'esmm' }, { daction: [] })).toBeUndefined();
  });
});
