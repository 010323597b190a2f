import { describe, expect, it } from 'vitest';
import { checkFunnelLabels } from './funnel-labels.js';

describe('checkFunnelLabels', () => {
  it('accepts consistent labels and returns the row count', () => {
    expect(checkFunnelLabels('t', [0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 0, 1])).toBe(4);
  });

  it('rejects DAction or purchase without a click, naming the row', () => {
    expect(() => checkFunnelLabels('t', [1, 0], [0, 1], [0, 0])).toThrow(/row 1 has daction=1, buy=0 without a click/);
    expect(() => checkFunnelLabels('t', [0, 1], [0, 0], [1, 0])).toThrow(/row 0 has daction=0, buy=1/);
  });

  it('rejects non-binary labels and length mismatch', () => {
    expect(() => checkFunnelLabels('t', [1, 2], [0, 0], [0, 0])).toThrow(/click\[1\] = 2/);
    expect(() => checkFunnelLabels('t', [1], [0, 0], [0, 0])).toThrow(/length mismatch/);
  });
});
