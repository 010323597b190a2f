/**
 * The shortest decimal that reads back as the same float32: scores are
 * float32, and printing their float64 expansion (0.30000001192092896) would
 * bloat files with digits that carry no information.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let digits = 6; digits < 9; digits++) {
    const s = v.toPrecision(digits);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}
