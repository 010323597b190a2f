import type { DayResult, ReplayFile, ReplayMode } from './options.js';

const TASKS = ['ctr', 'cvr', 'ctcvr'] as const;

/** Mean of the finite values; null when there is none (JSON has no NaN). */
function mean(xs: readonly (number | undefined)[]): number | null {
  const ok = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return ok.length === 0 ? null : ok.reduce((a, b) => a + b, 0) / ok.length;
}

/** replay.json's summary: per mode, over the days it was evaluated, the mean AUC and PCOC per task and the training seconds summed. */
export function summarise(results: readonly DayResult[], modes: readonly ReplayMode[]): ReplayFile['summary'] {
  const summary: ReplayFile['summary'] = {};
  for (const mode of modes) {
    const entries = results.flatMap((r) => (r.modes[mode] === undefined ? [] : [r.modes[mode]]));
    summary[mode] = {
      days: entries.length,
      meanAuc: Object.fromEntries(TASKS.map((t) => [t, mean(entries.map((e) => e.metrics[`${t}_auc`]))])) as Record<(typeof TASKS)[number], number | null>,
      meanPcoc: Object.fromEntries(TASKS.map((t) => [t, mean(entries.map((e) => e.metrics.pcoc[t]))])) as Record<(typeof TASKS)[number], number | null>,
      trainSeconds: entries.reduce((s, e) => s + e.trainSeconds, 0),
    };
  }
  return summary;
}
