/**
 * Dense codes 0..count−1 for group (user) ids, in order of first appearance.
 * Ids compare by SameValueZero, as in `gauc` (7 and "7" are different
 * groups); an undefined or NaN id throws naming `fn` and the index.
 */
export function internGroups(fn: string, groups: ArrayLike<number | string>): { code: Uint32Array; count: number } {
  const codeOf = new Map<number | string, number>();
  const code = new Uint32Array(groups.length);
  for (let i = 0; i < groups.length; i++) {
    const id = groups[i];
    if (id === undefined || (typeof id === 'number' && Number.isNaN(id))) {
      throw new Error(`${fn}: groups[${i}] is ${String(id)}, expected a group (user) id`);
    }
    let c = codeOf.get(id);
    if (c === undefined) {
      c = codeOf.size;
      codeOf.set(id, c);
    }
    code[i] = c;
  }
  return { code, count: codeOf.size };
}
