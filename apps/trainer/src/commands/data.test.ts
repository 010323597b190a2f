import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountTinyTmpfs } from '@esm2/core/testing';
import { writeSynthetic } from '@esm2/data';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The data commands as a user runs them, in their own process: exit status
 * and stderr are what is being tested. Each spawn costs seconds, so only
 * the defects that must be seen from outside are here; the libraries'
 * tests cover the rest.
 */
const trainerDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'esm2-train-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: trainerDir, env: { ...process.env, INIT_CWD: dir, npm_lifecycle_event: 'esm2-train' }, timeout: 120_000 }, (_err, stdout, stderr) =>
      done({ status: child.exitCode, stdout, stderr }),
    );
  });
}

const HEADER = 'user_id,item_id,click,daction,buy';

describe('esm2-train data (CLI)', () => {
  it('split refuses --train equal to --in: exit 1, both flags and the path named, input intact, nothing written', async () => {
    const input = join(dir, 'a.csv');
    const content = [HEADER, ...Array.from({ length: 50 }, (_, i) => `u${i},i${i % 7},1,0,${i % 2}`)].join('\n') + '\n';
    await writeFile(input, content);
    const r = await cli('data', 'split', '--in', 'a.csv', '--train', './a.csv', '--test', 'b.csv');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`--train ${input} is the same file as --in ${input}`);
    expect(await readFile(input, 'utf8')).toBe(content);
    expect((await readdir(dir)).filter((f) => f !== 'a.csv' && !f.startsWith('bad') && !f.startsWith('gen'))).toEqual([]);
  });

  it('encode fits the encoders, writes the shards and prints a summary line', async () => {
    await writeSynthetic(join(dir, 'gen.csv'), { rows: 1000, seed: 2 });
    const r = await cli('data', 'encode', '--in', 'gen.csv', '--out', 'gen.enc', '--shards', '3');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`1000 rows of ${join(dir, 'gen.csv')} → ${join(dir, 'gen.enc')}: 3 shard(s) of 333–334 rows`);
    const manifest = JSON.parse(await readFile(join(dir, 'gen.enc', 'manifest.json'), 'utf8')) as { rows: number; shards: { rows: number }[] };
    expect(manifest.shards.map((s) => s.rows)).toEqual([333, 333, 334]);
    expect((await readdir(join(dir, 'gen.enc'))).sort()).toEqual(['encoders.json', 'manifest.json', 'shard-00000', 'shard-00001', 'shard-00002']);
  });

  it('inspect exits 1 on an impossible label, naming file, line and column', async () => {
    const file = join(dir, 'bad-labels.csv');
    await writeFile(file, [HEADER, 'u1,i1,1,0,0', 'u2,i2,0,0,1'].join('\n') + '\n');
    const r = await cli('data', 'inspect', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}, line 3, column 'buy': buy=1 but click=0`);
    expect(r.stdout).not.toMatch(/CTR/);
  });
});

const disk = await mountTinyTmpfs('1m');
if ('reason' in disk) console.warn(`skipping the full-disk CLI test: ${disk.reason}`);
else afterAll(() => disk.unmount());

describe.skipIf('reason' in disk)('esm2-train data generate on a full disk (1 MiB tmpfs)', () => {
  it('exits 1 naming the output, keeps the old file, leaves no temp file', async () => {
    const outDir = join('dir' in disk ? disk.dir : '', 'gen');
    await mkdir(outDir);
    const out = join(outDir, 'rows.csv');
    await writeFile(out, 'old\n');
    const r = await cli('data', 'generate', '--rows', '60000', '--users', '500', '--items', '500', '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot write ${out}: no space left on device`);
    expect(await readFile(out, 'utf8')).toBe('old\n');
    expect(await readdir(outDir)).toEqual(['rows.csv']);
  });
});
