// Shared input checks. Metrics are only as trustworthy as their inputs, so bad
// rows fail loudly with the offending index instead of skewing a number.

export type NumericArray = ArrayLike<number>;

/** Throws unless every given array (undefined ones skipped) has the same length; returns it. */
export function checkSameLength(
  fn: string,
  arrays: Record<string, ArrayLike<unknown> | undefined>,
): number {
  let refName: string | undefined;
  let refLen = 0;
  for (const [name, arr] of Object.entries(arrays)) {
    if (arr === undefined) continue;
    if (refName === undefined) {
      refName = name;
      refLen = arr.length;
    } else if (arr.length !== refLen) {
      throw new Error(
        `${fn}: length mismatch: ${name} has length ${arr.length} but ${refName} has length ${refLen}`,
      );
    }
  }
  return refLen;
}

/** Mask values must be exactly 0 or 1: a soft weight here would be silently read as "include". */
export function isIncluded(fn: string, mask: NumericArray | undefined, i: number): boolean {
  if (mask === undefined) return true;
  const m = mask[i];
  if (m === 1) return true;
  if (m === 0) return false;
  throw new Error(`${fn}: mask[${i}] = ${String(m)}, expected 0 or 1`);
}

export function readLabel(fn: string, name: string, labels: NumericArray, i: number): 0 | 1 {
  const y = labels[i];
  if (y === 1) return 1;
  if (y === 0) return 0;
  throw new Error(`${fn}: ${name}[${i}] = ${String(y)}, expected 0 or 1`);
}

/** Any ordered value is a valid score (±Infinity included); NaN has no rank. */
export function readScore(fn: string, name: string, scores: NumericArray, i: number): number {
  const s = scores[i];
  if (s === undefined || Number.isNaN(s)) {
    throw new Error(`${fn}: ${name}[${i}] is ${String(s)}, expected a number`);
  }
  return s;
}

export function readProbability(fn: string, name: string, p: NumericArray, i: number): number {
  const v = p[i];
  if (v === undefined || !(v >= 0 && v <= 1)) {
    throw new Error(`${fn}: ${name}[${i}] = ${String(v)}, expected a probability in [0, 1]`);
  }
  return v;
}
