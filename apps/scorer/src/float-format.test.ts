import { mulberry32 } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import { formatFloat32 } from './float-format.js';

describe('formatFloat32', () => {
  it('prints the shortest text that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.3))).toBe('0.3');
    expect(formatFloat32(Math.fround(1e-7))).toBe('1e-7');
    expect(formatFloat32(0)).toBe('0');
    // Seeded: a failure names a value that the next run draws again.
    const uniform = mulberry32(22);
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround(uniform() ** 6);
      const s = formatFloat32(v);
      expect(Math.fround(Number(s))).toBe(v);
      expect(s.replace(/e.*$/, '').replace(/^0\.0*/, '').replace('.', '').length).toBeLessThanOrEqual(9);
    }
  });
});
