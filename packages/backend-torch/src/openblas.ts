import { readFileSync } from 'node:fs';

/**
 * The OpenBLAS kernels torch's matrix products should use: the core type
 * named from the CPU's flags, since Debian's OpenBLAS falls back to its
 * slowest (Prescott, SSE3) kernels on a VM whose CPUID names no known model
 * (measurements: docs/performance.md, "OpenBLAS kernels for torch").
 * OPENBLAS_CORETYPE, when set, wins; undefined leaves OpenBLAS to its own
 * detection (not Linux, no AVX2).
 */
export function openblasCoretype(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return process.env.OPENBLAS_CORETYPE;
  try {
    return coretypeOf(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The core type for a /proc/cpuinfo text: by the widest vector extension its
 * first CPU's flags name, and on AVX2 by vendor, as OpenBLAS itself names
 * those CPUs when it recognises them (an AMD CPU with AVX2 is Zen, an Intel
 * one Haswell).
 */
export function coretypeOf(cpuinfo: string): string | undefined {
  const flags = (/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/);
  if (flags.includes('avx512bf16')) return 'Cooperlake';
  if (flags.includes('avx512f')) return 'SkylakeX';
  if (flags.includes('avx2')) return /^vendor_id\s*:\s*AuthenticAMD\s*$/m.test(cpuinfo) ? 'Zen' : 'Haswell';
  return undefined;
}
