import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSynthetic } from '@esm2/data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel } from './model.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

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

describe('esm2-score score with --data - and --out -', () => {
  /** Runs the CLI with `input` piped to its stdin. */
  async function piped(input: string, ...args: string[]) {
    const run = esm2Score('score', '--model', fixture.onnx, '--data', '-', '--out', '-', '--no-progress', ...args);
    run.child.stdin.end(input);
    return { code: await run.exited, stdout: run.stdout(), stderr: run.stderr() };
  }

  it('scores JSON lines and CSV piped in, writing the same predictions to stdout as scoring them directly', async () => {
    const model = await loadScoringModel(fixture.onnx);
    const local = await LocalScorer.create(model);
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 5);
    const expected = await local.scoreRows(model, rows);
    await local.close();
    const same = (got: number[], want: number[]) => expect(got.map((x) => Math.fround(x))).toEqual(want);

    // One row, the command-line case; blank lines are skipped. The format is sniffed from the first character.
    const one = await piped(`\n${JSON.stringify(rows[0])}\n`);
    expect(one.code, one.stderr).toBe(0);
    const [line, ...rest] = one.stdout.trim().split('\n');
    expect(rest).toEqual([]);
    const answer = JSON.parse(line!) as Record<string, unknown>;
    expect(Object.keys(answer)).toEqual(['user_id', 'item_id', 'pctr', 'pctavr', 'pcvr', 'pctcvr']);
    expect(answer.user_id).toBe(rows[0]!.user_id);
    same(['pctr', 'pctavr', 'pcvr', 'pctcvr'].map((k) => answer[k] as number), ['pctr', 'pctavr', 'pcvr', 'pctcvr'].map((k) => expected[0]![k]!));
    expect(one.stderr).toMatch(/scored 1 rows .* → stdout/);

    const jsonl = await piped(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const answers = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    same(answers.map((a) => a.pctcvr!), expected.map((p) => p.pctcvr!));

    // CSV in (the training file's own lines), CSV out; --format jsonl would make stdout JSON lines.
    const csvText = readFileSync(fixture.csv, 'utf8').split('\n').slice(0, 6).join('\n') + '\n';
    const csv = await piped(csvText);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...body] = csv.stdout.trim().split('\n');
    expect(header).toBe('user_id,item_id,pctr,pctavr,pcvr,pctcvr');
    same(body.map((l) => Number(l.split(',')[5])), expected.map((p) => p.pctcvr!));
    const explicit = await piped(csvText, '--format', 'csv');
    expect(explicit.stdout).toBe(csv.stdout);
  });

  it('names the line of a bad row on stdin and exits 1', async () => {
    const rows = requestRows(csvRows(fixture.csv)).slice(0, 3);
    const bad = await piped([JSON.stringify(rows[0]), JSON.stringify({ ...rows[1], colour: 'red' })].join('\n'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/esm2-score: stdin line 2: unknown field 'colour'; the model takes user_id, item_id/);
    const broken = await piped(`${JSON.stringify(rows[0])}\n{"user_id": \n`);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/esm2-score: stdin line 2: invalid JSON/);
    const empty = await piped('');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/esm2-score: stdin/);
  });
});
