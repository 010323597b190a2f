import { describe, expect, it } from 'vitest';
import { evaluateEsm2, type Esm2Metrics } from './evaluate-esm2.js';
import { formatMetricsTable } from './format-table.js';
import { MIN_POSITIVES_FOR_COMPARISON, positivesVerdict } from './positives-rule.js';

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
    expect(header).toMatch(/^task\s+pos\s+auc\s+gauc\s+users\s+logloss\s+pcoc\s+oracle_auc$/);
    // CTR has no GAUC, hence no users: "-".
    expect(ctr).toMatch(/^ctr\s+2\s+1\.0000\s+-\s+-\s+\d\.\d{5}\s+\d\.\d{3}\s+-$/);
    // CVR on clicked rows has only positives: AUC and GAUC undefined -> "nan", no user has both classes (0), PCOC = 0.65.
    expect(cvr).toMatch(/^cvr\s+2\s+nan\s+nan\s+0\s+\d\.\d{5}\s+0\.650\s+-$/);
    expect(lines.some((l) => l.startsWith('ctavr'))).toBe(false);
    expect(lines.some((l) => /^cvr\s+0\.1%\s+1\.0000\s+0\.5000\s+0\.6667$/.test(l))).toBe(true);
    // Two test positives per task: both reported tasks are warned about, after the tables.
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${positivesVerdict(2, 'CTR').message}`,
      `warning: ${positivesVerdict(2, 'CVR').message}`,
    ]);
  });

  /** Metrics as metrics.json holds them, made by hand: CTR and CVR on plenty of positives, CTCVR on 25. */
  const handMade = (): Esm2Metrics => ({
    rows: 100_000,
    clicks: 5_000,
    dactions: 3,
    buys: 337,
    ctr_auc: 0.71,
    cvr_auc: 0.83,
    ctcvr_auc: 0.79,
    cvr_gauc: 0.61,
    ctcvr_gauc: 0.58,
    gauc_users: { cvr: 41, ctcvr: 12 },
    logloss: { ctr: 0.2, cvr: 0.1, ctcvr: 0.01 },
    pcoc: { ctr: 1, cvr: 1.1, ctcvr: 0.9 },
    positives: { ctr: 5_000, ctavr: 3, cvr: 312, ctcvr: 25 },
  });

  it('shows the users behind each GAUC and warns, in words, for each task under MIN_POSITIVES_FOR_COMPARISON positives only', () => {
    const lines = formatMetricsTable(handMade()).split('\n');
    expect(lines.find((l) => l.startsWith('cvr '))).toMatch(/^cvr\s+312\s+0\.8300\s+0\.6100\s+41\s+0\.10000\s+1\.100\s+-$/);
    expect(lines.find((l) => l.startsWith('ctcvr '))).toMatch(/^ctcvr\s+25\s+0\.7900\s+0\.5800\s+12\s+0\.01000\s+0\.900\s+-$/);
    expect(lines.find((l) => l.startsWith('ctr '))).toMatch(/^ctr\s+5000\s+0\.7100\s+-\s+-\s/);
    // No CTAVR prediction: no row for it, and no warning for a task not shown.
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      'warning: CTCVR rests on only 25 test positives (fewer than 100): a difference between models on so few is mostly chance — do not read a winner from it.',
    ]);
    expect(MIN_POSITIVES_FOR_COMPARISON).toBeGreaterThan(25);
  });

  it('names the split in the warning (fit prints validation metrics) and shows "-" for users without user ids', () => {
    const m = handMade();
    delete m.cvr_gauc;
    delete m.ctcvr_gauc;
    delete m.gauc_users;
    m.positives.cvr = 0;
    const lines = formatMetricsTable(m, { split: 'validation' }).split('\n');
    expect(lines.find((l) => l.startsWith('cvr '))).toMatch(/^cvr\s+0\s+0\.8300\s+-\s+-\s/);
    expect(lines.filter((l) => l.startsWith('warning: '))).toEqual([
      'warning: CVR has no validation positives: its AUC, and any difference between models on it, are undefined.',
      'warning: CTCVR rests on only 25 validation positives (fewer than 100): a difference between models on so few is mostly chance — do not read a winner from it.',
    ]);
  });
});
