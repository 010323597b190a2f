import { ESM2_TASKS } from './esm2-tasks.js';
import type { Esm2Metrics, TopKTable } from './evaluate-esm2.js';
import { positivesVerdict } from './positives-rule.js';

export interface MetricsTableOptions {
  /** The data the metrics were computed on, named in the warnings: "test" (default), "validation"… */
  split?: string;
}

/**
 * Compact aligned text for CLI output: counts, one row per task that has any
 * metric (its positives, AUC, GAUC with the users behind it — those with both
 * classes, the only ones GAUC counts — logloss, PCOC, oracle AUC), then one
 * row per top-k cut, then a warning line for every reported task with fewer
 * than MIN_POSITIVES_FOR_COMPARISON positives (core's positivesVerdict).
 * "-" = not computed (no such prediction, no user ids), "nan" = undefined
 * (e.g. one class only) — kept distinct on purpose.
 */
export function formatMetricsTable(metrics: Esm2Metrics, options: MetricsTableOptions = {}): string {
  const lines: string[] = [
    `rows ${metrics.rows}  clicks ${metrics.clicks}  dactions ${metrics.dactions}  buys ${metrics.buys}`,
    '',
  ];

  const taskRows: string[][] = [['task', 'pos', 'auc', 'gauc', 'users', 'logloss', 'pcoc', 'oracle_auc']];
  const warnings: string[] = [];
  for (const task of ESM2_TASKS) {
    const a = metrics[`${task}_auc` as const];
    const o = metrics.oracle?.[`${task}_auc` as const];
    if (a === undefined && o === undefined) continue;
    const gaucTask = task === 'cvr' || task === 'ctcvr' ? task : undefined;
    const g = gaucTask === undefined ? undefined : metrics[`${gaucTask}_gauc`];
    const users = gaucTask === undefined ? undefined : metrics.gauc_users?.[gaucTask];
    taskRows.push([
      task,
      String(metrics.positives[task]),
      fmt(a, 4),
      fmt(g, 4),
      users === undefined ? '-' : String(users),
      fmt(metrics.logloss[task], 5),
      fmt(metrics.pcoc[task], 3),
      fmt(o, 4),
    ]);
    const verdict = positivesVerdict(metrics.positives[task], task.toUpperCase(), options.split);
    if (!verdict.meaningful) warnings.push(`warning: ${verdict.message}`);
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
  if (warnings.length > 0) lines.push('', ...warnings);
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
