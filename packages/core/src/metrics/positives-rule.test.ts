import { describe, expect, it } from 'vitest';
import { MIN_POSITIVES_FOR_COMPARISON, positivesVerdict } from './positives-rule.js';

describe('positivesVerdict', () => {
  it('draws the line at MIN_POSITIVES_FOR_COMPARISON = 100', () => {
    expect(MIN_POSITIVES_FOR_COMPARISON).toBe(100);
    expect(positivesVerdict(99, 'CVR').meaningful).toBe(false);
    expect(positivesVerdict(100, 'CVR').meaningful).toBe(true);
    expect(positivesVerdict(100, 'CVR').threshold).toBe(100);
  });

  it('says in words why a small test decides nothing', () => {
    expect(positivesVerdict(25, 'CTCVR').message).toBe(
      'CTCVR rests on only 25 test positives (fewer than 100): a difference between models on so few is mostly chance — do not read a winner from it.',
    );
    expect(positivesVerdict(1, 'CVR').message).toMatch(/only 1 test positive \(/);
    expect(positivesVerdict(0, 'CVR').message).toBe(
      'CVR has no test positives: its AUC, and any difference between models on it, are undefined.',
    );
    expect(positivesVerdict(3, 'CVR', 'validation').message).toMatch(/^CVR rests on only 3 validation positives \(fewer than 100\)/);
    expect(positivesVerdict(312, 'CVR').message).toBe(
      'CVR rests on 312 test positives: enough for the intervals on its differences to be read.',
    );
  });

  it('rejects a count that is not one', () => {
    expect(() => positivesVerdict(-1, 'CVR')).toThrow(/positives = -1/);
    expect(() => positivesVerdict(2.5, 'CVR')).toThrow(/positives = 2.5/);
    expect(() => positivesVerdict(NaN, 'CVR')).toThrow(/positives = NaN/);
  });
});
