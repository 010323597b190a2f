import { describe, expect, it } from 'vitest';
import { internGroups } from './groups.js';

describe('internGroups', () => {
  it('codes ids densely in order of first appearance, 7 and "7" apart', () => {
    const { code, count } = internGroups('t', ['b', 7, 'b', '7', 7, 'a']);
    expect(Array.from(code)).toEqual([0, 1, 0, 2, 1, 3]);
    expect(count).toBe(4);
  });

  it('throws naming the caller and index on an undefined or NaN id', () => {
    expect(() => internGroups('pairedBootstrap', [1, NaN])).toThrow(
      'pairedBootstrap: groups[1] is NaN, expected a group (user) id',
    );
    expect(() => internGroups('x', ['a', undefined as unknown as string])).toThrow(/x: groups\[1\] is undefined/);
  });
});
