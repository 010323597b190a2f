import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { userPath } from './user-path.js';

const saved = process.env['INIT_CWD'];
afterEach(() => {
  if (saved === undefined) delete process.env['INIT_CWD'];
  else process.env['INIT_CWD'] = saved;
});

describe('userPath', () => {
  it('resolves relative paths against INIT_CWD (where pnpm was typed), absolute ones unchanged', () => {
    process.env['INIT_CWD'] = '/home/someone/project';
    expect(userPath('runs/a')).toBe('/home/someone/project/runs/a');
    expect(userPath('/data/x.csv')).toBe('/data/x.csv');
  });

  it('falls back to the working directory when INIT_CWD is unset (an installed bin)', () => {
    delete process.env['INIT_CWD'];
    expect(userPath('x.csv')).toBe(resolve(process.cwd(), 'x.csv'));
  });
});
