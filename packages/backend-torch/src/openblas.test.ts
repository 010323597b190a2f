import { describe, expect, it } from 'vitest';
import { coretypeOf } from './openblas.js';

const cpuinfo = (vendor: string, flags: string) => `processor\t: 0\nvendor_id\t: ${vendor}\nmodel name\t: a VM\nflags\t\t: fpu sse sse2 ${flags}\n\nprocessor\t: 1\n`;

describe('coretypeOf', () => {
  it('names the core type OpenBLAS would detect, from the flags and, on AVX2, the vendor', () => {
    expect(coretypeOf(cpuinfo('AuthenticAMD', 'avx fma avx2'))).toBe('Zen');
    expect(coretypeOf(cpuinfo('GenuineIntel', 'avx fma avx2'))).toBe('Haswell');
    expect(coretypeOf(cpuinfo('GenuineIntel', 'avx2 avx512f'))).toBe('SkylakeX');
    expect(coretypeOf(cpuinfo('AuthenticAMD', 'avx2 avx512f avx512bf16'))).toBe('Cooperlake');
  });

  it('leaves OpenBLAS to its own detection without AVX2 or without flags', () => {
    expect(coretypeOf(cpuinfo('GenuineIntel', 'avx'))).toBeUndefined();
    expect(coretypeOf('')).toBeUndefined();
  });
});
