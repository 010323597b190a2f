import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSynthetic } from '@esm2/data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from './test-support/fixture.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(300);
});
afterAll(() => fixture?.cleanup());

/** Children a test started: one still running when the test ends is killed, not left loading the machine. */
const children = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `pattern` has appeared on stderr (already or later). */
  stderrLine: (pattern: RegExp) => Promise<void>;
  exited: Promise<number | null>;
}

/** `esm2-score ARGS` from the sources in a child process. */
function esm2Score(...args: string[]): Run {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args]);
  children.add(child);
  const text = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (text.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stderrLine = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(text.stderr)) return false;
        child.stderr.off('data', check);
        resolve();
        return true;
      };
      if (check()) return;
      child.stderr.on('data', check);
      void exited.then((code) => reject(new Error(`exited ${code} before printing ${pattern}: ${text.stderr}`)));
    });
  return { child, stdout: () => text.stdout, stderr: () => text.stderr, stderrLine, exited };
}

describe('esm2-score score interrupted', () => {
  it('stops in order on SIGINT during Parquet scoring: exit 130, no native abort, nothing left behind', async () => {
    const data = join(fixture.dir, 'large.parquet');
    await writeSynthetic(data, { rows: 300_000, seed: 5 });
    const before = (await readdir(fixture.dir)).sort();
    const out = join(fixture.dir, 'large-scores.csv');
    // A progress line as soon as rows are scored: the signal then lands with reads and session runs in flight.
    const run = esm2Score('score', '--model', fixture.onnx, '--data', data, '--out', out, '--workers', '2', '--batch-size', '1024', '--progress-interval', '1');
    await run.stderrLine(/^scoring: \d+\/300000 rows/m);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.stderr()).not.toMatch(/terminate called|Napi::Error|Aborted/);
    expect(run.stderr()).toMatch(new RegExp(`esm2-score: interrupted \\(SIGINT\\) after \\d+ rows; ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was not written`));
    expect(Number(/after (\d+) rows/.exec(run.stderr())![1])).toBeLessThan(300_000);
    // No output, no temporary file.
    expect((await readdir(fixture.dir)).sort()).toEqual(before);
  });
});
