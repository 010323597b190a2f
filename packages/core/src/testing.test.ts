import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPath, missingPythonModule, requires, type Requirement } from './testing.js';

const need = (what: string, missing: string | undefined): Requirement => ({ what, missing, install: 'apt-get install python3-thing' });

describe('requires: the one skip policy for tests needing something outside the repository', () => {
  it('runs the tests, silently, when the requirement is here (with or without CI)', () => {
    for (const env of [{}, { CI: 'true' }]) {
      const printed: string[] = [];
      const r = requires(need('python3 with present', undefined), env, (l) => printed.push(l));
      expect(r.run).toBe(true);
      expect(() => r.check()).not.toThrow();
      const skipped: (string | undefined)[] = [];
      r.within({ skip: (note) => skipped.push(note) });
      expect(skipped).toEqual([]);
      expect(printed).toEqual([]);
    }
  });

  it('outside CI, skips a missing requirement and prints what is missing and how to install it, once', () => {
    const printed: string[] = [];
    const first = requires(need('python3 with absent-a', '/usr/bin/python3 cannot import absent_a'), { CI: 'false' }, (l) => printed.push(l));
    const again = requires(need('python3 with absent-a', '/usr/bin/python3 cannot import absent_a'), {}, (l) => printed.push(l));
    expect([first.run, again.run]).toEqual([false, false]);
    const skipped: (string | undefined)[] = [];
    first.within({ skip: (note) => skipped.push(note) });
    expect(skipped).toEqual(['needs python3 with absent-a: /usr/bin/python3 cannot import absent_a (install: apt-get install python3-thing)']);
    expect(printed).toEqual([
      'skipping the tests that need python3 with absent-a: /usr/bin/python3 cannot import absent_a (install: apt-get install python3-thing); under CI=true they fail instead',
    ]);
  });

  it('under CI=true, never skips: the tests are defined and check() fails them naming what is missing and how to install it', () => {
    const printed: string[] = [];
    const r = requires(need('python3 with absent-b', '/usr/bin/python3 cannot import absent_b'), { CI: 'true' }, (l) => printed.push(l));
    expect(r.run).toBe(true);
    expect(() => r.check()).toThrow(
      'python3 with absent-b is missing: /usr/bin/python3 cannot import absent_b (install: apt-get install python3-thing); CI=true makes a missing requirement a failure, not a skip',
    );
    const skipped: (string | undefined)[] = [];
    expect(() => r.within({ skip: (note) => skipped.push(note) })).toThrow('python3 with absent-b is missing');
    expect(skipped).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('probes: a python module, a path', async () => {
    // A stand-in python that can import json and nothing else.
    const dir = await mkdtemp(join(tmpdir(), 'esm2-requires-'));
    const python = join(dir, 'python3');
    await writeFile(python, '#!/bin/sh\n[ "$1" = -c ] && [ "$2" = "import json" ]\n');
    await chmod(python, 0o755);
    try {
      expect(missingPythonModule(python, 'json')).toBeUndefined();
      expect(missingPythonModule(python, 'torch')).toBe(`${python} cannot import torch`);
    } finally {
      await rm(dir, { recursive: true });
    }
    expect(missingPythonModule('/nonexistent/python3', 'json')).toMatch(/^\/nonexistent\/python3 cannot be run/);
    expect(missingPath('/nonexistent/chromium')).toBe('/nonexistent/chromium does not exist');
    expect(missingPath(process.execPath)).toBeUndefined();
  });
});
