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
  let flags: string[];
  try {
    flags = (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/);
  } catch {
    return undefined;
  }
  if (flags.includes('avx512bf16')) return 'Cooperlake';
  if (flags.includes('avx512f')) return 'SkylakeX';
  if (flags.includes('avx2')) return 'Haswell';
  return undefined;
}
