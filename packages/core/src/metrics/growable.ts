// Growth for the collector's typed-array columns. Doubling keeps appends
// amortised O(1) per row, and typed storage means no per-row objects however
// large the test set.

type Column = Float64Array | Uint8Array | Uint32Array;

/** Returns `arr` if it already holds `needed` elements, else a copy with at least doubled capacity. */
export function ensureCapacity<T extends Column>(arr: T, used: number, needed: number): T {
  if (needed <= arr.length) return arr;
  let capacity = Math.max(arr.length, 16);
  while (capacity < needed) capacity *= 2;
  const next = new (arr.constructor as new (length: number) => T)(capacity);
  next.set(arr.subarray(0, used));
  return next;
}
