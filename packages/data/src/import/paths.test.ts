import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixturesRequired, tempDir } from '../testing/tmp.js';
import { importAliccp } from './aliccp.js';
import { importAliccpEncoded } from './aliccp-encoded.js';
import { importUserBehavior } from './userbehavior.js';

const tmp = await tempDir();
const dir = tmp('');
const copy = async (fixture: string, name: string) => {
  await copyFile(join(FIXTURES, fixture), tmp(name));
  return tmp(name);
};
const digest = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
const fixtures = fixturesRequired();
let paddle: string, encoded: string, events: string;
let originals: Map<string, string>, listing: string[];

/** Every refusal happens before anything is written: inputs unchanged, no new file, not even a temp. */
async function untouched(): Promise<void> {
  for (const [f, hash] of originals) expect(await digest(f)).toBe(hash);
  expect((await readdir(dir)).sort()).toEqual([...listing].sort());
}

describe.runIf(fixtures.run)('imports refuse outputs that are inputs', () => {
  beforeAll(fixtures.check);
  beforeAll(async () => {
    paddle = await copy('aliccp_paddlerec_esmm_small_train.txt', 'paddle.txt');
    encoded = await copy('aliccp_torchrechub_train_sample.csv', 'encoded.csv');
    events = await copy('taobao_userbehavior_peruser_10k.csv', 'events.csv');
    await symlink(events, tmp('events-link.csv'));
    originals = new Map(await Promise.all([paddle, encoded, events].map(async (f) => [f, await digest(f)] as const)));
    listing = await readdir(dir);
  });

  it('userbehavior: --out equal to --in (also through a symlink)', async () => {
    await expect(importUserBehavior(events, events)).rejects.toThrow(`--out ${events} is the same file as --in ${events}: --out would overwrite the input --in`);
    await expect(importUserBehavior(events, tmp('events-link.csv'))).rejects.toThrow(`--out ${tmp('events-link.csv')} is the same file as --in ${events}`);
    await untouched();
  });

  it('userbehavior: a reject file equal to the output', async () => {
    const out = tmp('ub-out.csv');
    await expect(importUserBehavior(events, out, { onBadRow: 'skip', rejectFile: out })).rejects.toThrow(`--out ${out} is the same file as --reject-file ${out}`);
    await untouched();
  });

  it('aliccp (every form): --out equal to --in or to --common', async () => {
    await expect(importAliccp(paddle, `${dir}/./paddle.txt`)).rejects.toThrow(`--out ${dir}/./paddle.txt is the same file as --in ${paddle}`);
    await expect(importAliccp(encoded, encoded)).rejects.toThrow(`--out ${encoded} is the same file as --in ${encoded}`);
    await expect(importAliccpEncoded(encoded, encoded)).rejects.toThrow(`--out ${encoded} is the same file as --in ${encoded}`);
    await expect(importAliccp(paddle, encoded, { common: encoded })).rejects.toThrow(`--out ${encoded} is the same file as --common ${encoded}`);
    await untouched();
  });
});
