import { describe, expect, it } from 'vitest';
import { jsonProblem } from './json.js';

describe('jsonProblem', () => {
  it('accepts plain JSON, including null prototypes and undefined properties (read back as absent)', () => {
    expect(jsonProblem({ a: [1, 'x', true, null, { b: -0.5 }], c: undefined, d: Object.create(null) as object }, 'm')).toBeUndefined();
  });

  it.each([
    [{ auc: Number.NaN }, 'm.auc: NaN is not representable in JSON'],
    [{ x: [1, Infinity] }, 'm.x[1]: Infinity is not representable in JSON'],
    [{ x: [1, undefined] }, 'm.x[1]: undefined is not representable in JSON'],
    [{ when: new Date(0) }, 'm.when: a Date is not plain JSON (store date.toISOString())'],
    [{ vocab: new Map() }, 'm.vocab: a Map is not plain JSON'],
    [{ n: 10n }, 'm.n: a bigint is not representable in JSON'],
    [{ f: () => 1 }, 'm.f: a function is not representable in JSON'],
  ])('rejects %o', (value, message) => {
    expect(jsonProblem(value, 'm')).toBe(message);
  });

  it('rejects cycles but not shared (diamond) references', () => {
    const shared = { k: 1 };
    expect(jsonProblem({ a: shared, b: shared }, 'm')).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(jsonProblem(cyclic, 'm')).toBe('m.self: circular reference');
  });
});
