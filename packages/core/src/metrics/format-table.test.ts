import { describe, expect, it } from 'vitest';
import { evaluateEsm2 } from './evaluate-esm2.js';
import { formatMetricsTable } from './format-table.js';

describe('formatMetricsTable', () => {
  it('prints counts, one aligned row per reported task and the top-k cuts', () => {
    const m = evaluateEsm2({
      pctr: [0.9, 0.2, 0.6, 0.1],
      pcvr: [0.8, 0.3, 0.5, 0.5],
      click: [1, 0, 1, 0],
      daction: [1, 0, 0, 0],
      buy: [1, 0, 1, 0],
      userId: ['a', 'a', 'b', 'b'],
    });
    const text = formatMetricsTable(m);
    const lines = text.split('\n');
    expect(lines[0]).toBe('rows 4  clicks 2  dactions 1  buys 2');
    const header = lines.find((l) => l.startsWith('task'))!;
    const ctr = lines.find((l) => l.startsWith('ctr '))!;
    const cvr = lines.find((l) => l.startsWith('cvr '))!;
    // Right-aligned numeric columns end at the header's column ends.
    expect(ctr.length).toBe(header.length);
    expect(ctr).toMatch(/^ctr\s+2\s+1\.0000\s+-\s+\d\.\d{5}\s+\d\.\d{3}\s+-$/);
    // CVR on clicked rows has only positives: AUC and GAUC undefined -> "nan", PCOC = 0.65.
    expect(cvr).toMatch(/^cvr\s+2\s+nan\s+nan\s+\d\.\d{5}\s+0\.650\s+-$/);
    expect(lines.some((l) => l.startsWith('ctavr'))).toBe(false);
    expect(lines.some((l) => /^cvr\s+0\.1%\s+1\.0000\s+0\.5000\s+0\.6667$/.test(l))).toBe(true);
  });
});
