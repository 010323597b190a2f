import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** `data generate --days` as a user runs it, in its own process (the generator's own tests are in @esm2/data). */
const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'esm2-train-generate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: trainerDir, env: { ...process.env, INIT_CWD: dir, npm_lifecycle_event: 'esm2-train' }, timeout: 120_000 }, (_err, stdout, stderr) =>
      done({ status: child.exitCode, stdout, stderr }),
    );
  });
}

describe('esm2-train data generate --days (CLI)', () => {
  it('writes a day column with --rows split evenly across the days', async () => {
    const r = await cli('data', 'generate', '--rows', '3001', '--days', '3', '--users', '300', '--items', '400', '--truth', '--out', 'days.csv');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote 3001 rows to ${join(dir, 'days.csv')} (3 days, 1000–1001 a day)`);
    const lines = (await readFile(join(dir, 'days.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^day,user_id,item_id,.*,true_pctcvr$/);
    const days = lines.slice(1).map((l) => Number(l.split(',')[0]));
    expect([0, 1, 2].map((d) => days.filter((x) => x === d).length)).toEqual([1001, 1000, 1000]);
    expect(days).toEqual([...days].sort((a, b) => a - b));
  });

  it('refuses fewer rows than days before writing anything: exit 1, both flags named', async () => {
    const r = await cli('data', 'generate', '--rows', '2', '--days', '3', '--out', 'few.csv');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--rows 2 is fewer than --days 3');
    expect((await readdir(dir)).filter((f) => f.startsWith('few'))).toEqual([]);
  });
});
