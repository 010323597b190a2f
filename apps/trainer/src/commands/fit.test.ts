import { runCli } from '@esm2/cli-kit';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trainerProgram } from '../program.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'esm2-fit-cmd-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

async function run(...args: string[]) {
  let err = '';
  const program = trainerProgram().configureOutput({ writeOut: () => undefined, writeErr: (s) => (err += s) });
  const code = await runCli(program, { name: 'esm2-train', version: '0', args });
  return { code, err: err.replace(/\s+/g, ' ') };
}

describe('fit --daction', () => {
  it('reaches the data: a column the file lacks fails naming the flag, the file, the column and the columns it has', async () => {
    const data = join(dir, 't.csv');
    await writeFile(data, 'user_id,click,cart,fav,buy\nu1,1,1,0,0\nu2,1,0,1,1\n');
    const r = await run('fit', '--data', data, '--model', 'esm2', '--out', join(dir, 'runs/x'), '--daction', 'fav,wish');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`esm2-train: --daction fav,wish: ${data}, line 1 (header), column 'wish': missing column (the file has user_id, click, cart, fav, buy)`);
  });

  it('an empty list is refused by the parser', async () => {
    const r = await run('fit', '--out', join(dir, 'runs/y'), '--daction', ' , ');
    expect(r.code).toBe(1);
    expect(r.err).toContain("option '--daction <columns>' argument ' , ' is invalid. expected comma-separated names");
  });
});
