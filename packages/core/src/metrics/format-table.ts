import { ESM2_TASKS } from './esm2-tasks.js';
import type { Esm2Metrics, TopKTable } from './evaluate-esm2.js';

/**
 * Compact aligned text for CLI output: counts, one row per task that has any
 * metric, then one row per top-k cut. "-" = not computed (no such prediction),
 * "nan" = undefined (e.g. one class only) — kept distinct on purpose.
 */
export function formatMetricsTable(metrics: Esm2Metrics): string {
  const lines: string[] = [
    `rows ${metrics.rows}  clicks ${metrics.clicks}  dactions ${metrics.dactions}  buys ${metrics.buys}`,
    '',
  ];

  const taskRows: string[][] = [['task', 'pos', 'auc', 'gauc', 'logloss', 'pcoc', 'oracle_auc']];
  for (const task of ESM2_TASKS) {
    const a = metrics[`${task}_auc` as const];
    const o = metrics.oracle?.[`${task}_auc` as const];
    if (a === undefined && o === undefined) continue;
    const g = task === 'cvr' ? metrics.cvr_gauc : task === 'ctcvr' ? metrics.ctcvr_gauc : undefined;
    taskRows.push([
      task,
      String(metrics.positives[task]),
      fmt(a, 4),
      fmt(g, 4),
      fmt(metrics.logloss[task], 5),
      fmt(metrics.pcoc[task], 3),
      fmt(o, 4),
    ]);
  }
  lines.push(...align(taskRows));

  const cutRows: string[][] = [['top-k', 'cut', 'precision', 'recall', 'f1']];
  for (const task of ['cvr', 'ctcvr'] as const) {
    const cuts = metrics.f1_at?.[task];
    if (cuts === undefined) continue;
    for (const cut of Object.keys(cuts)) {
      cutRows.push([task, cut, at(metrics.precision_at, task, cut), at(metrics.recall_at, task, cut), at(metrics.f1_at, task, cut)]);
    }
  }
  if (cutRows.length > 1) lines.push('', ...align(cutRows));
  return lines.join('\n');
}

function at(table: TopKTable | undefined, task: 'cvr' | 'ctcvr', cut: string): string {
  return fmt(table?.[task]?.[cut], 4);
}

function fmt(x: number | undefined, digits: number): string {
  if (x === undefined) return '-';
  if (Number.isNaN(x)) return 'nan';
  return x.toFixed(digits);
}

/** Left-aligned text column first, numbers right-aligned so decimals line up. */
function align(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, j) => (widths[j] = Math.max(widths[j] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)))
      .join('  ')
      .trimEnd(),
  );
}
