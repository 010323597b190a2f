import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readIfExists, readInputFile } from './read.js';

describe('readIfExists', () => {
  it('reads bytes or text, gives undefined for a missing file, and throws any other failure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-read-'));
    try {
      await writeFile(join(dir, 'a.txt'), 'héllo');
      expect(await readIfExists(join(dir, 'a.txt'), 'utf8')).toBe('héllo');
      expect(Buffer.from((await readIfExists(join(dir, 'a.txt')))!).toString('utf8')).toBe('héllo');
      expect(await readIfExists(join(dir, 'missing.txt'))).toBeUndefined();
      // A directory is not "no file": the read error comes through.
      await expect(readIfExists(dir)).rejects.toMatchObject({ code: 'EISDIR' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('readInputFile', () => {
  it('reads text; a missing file or a directory is an error naming the path and saying what it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esm2-read-'));
    try {
      await writeFile(join(dir, 'c.yaml'), 'a: 1\n');
      expect(await readInputFile(join(dir, 'c.yaml'))).toBe('a: 1\n');
      await expect(readInputFile(join(dir, 'missing.yaml'))).rejects.toThrow(`${join(dir, 'missing.yaml')}: no such file`);
      await expect(readInputFile(dir)).rejects.toThrow(`${dir}: it is a directory; give a file`);
      await expect(readInputFile(join(dir, 'c.yaml', 'x'))).rejects.toThrow(`${join(dir, 'c.yaml', 'x')}: a parent of it is a file`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
