import { renderReplayReport, type RenderedReport, type ReplayReportDay, type ReplayReportInput } from '@esm2/report';
import type { ReplayFile, ReplayMode } from './options.js';

/** replay.json as the report page takes it: per day, every mode's AUCs, PCOCs, training seconds and known-id share, the oracle's AUCs when the data has true probabilities. */
export function replayReportInput(file: ReplayFile): ReplayReportInput {
  const days: ReplayReportDay[] = file.results.map((r) => {
    const first = Object.values(r.modes)[0];
    const oracle = first?.metrics.oracle;
    return {
      day: r.day,
      evalDay: r.evalDay,
      evalRows: r.evalRows,
      ...(first ? { positives: { ctr: first.metrics.positives.ctr, cvr: first.metrics.positives.cvr, ctcvr: first.metrics.positives.ctcvr } } : {}),
      ...(oracle ? { oracle: { ctr: oracle.ctr_auc ?? null, cvr: oracle.cvr_auc ?? null, ctcvr: oracle.ctcvr_auc ?? null } } : {}),
      modes: Object.fromEntries(
        Object.entries(r.modes).map(([mode, m]) => [
          mode,
          {
            auc: { ctr: m.metrics.ctr_auc ?? null, cvr: m.metrics.cvr_auc ?? null, ctcvr: m.metrics.ctcvr_auc ?? null },
            pcoc: { ctr: m.metrics.pcoc.ctr, cvr: m.metrics.pcoc.cvr, ctcvr: m.metrics.pcoc.ctcvr },
            trainSeconds: m.trainSeconds,
            knownIds: m.knownIds.both,
          },
        ]),
      ),
    };
  });
  const b = file.bootstrap;
  const what: Record<ReplayMode, string> = {
    frozen: `frozen: the bootstrap model, never trained again`,
    incremental: `incremental: day d−1's model (the bootstrap for day ${file.fromDay}) trained further on day d, its vocabularies grown with the new ids`,
    retrain: `retrain: a new model on the last ${file.window} day(s) up to d`,
  };
  const notes = [
    `Each day d from ${file.fromDay} to ${file.toDay}, every mode's model for day d is evaluated on day d+1 (the x axis). ` +
      `The bootstrap model was trained on days ${b.trainDays[0]}…${b.trainDays[1]} (${b.trainRows.toLocaleString('en-US')} rows, ${b.trainSeconds.toFixed(1)} s). ` +
      `${file.modes.map((m) => what[m]).join('; ')}.`,
    'Known ids: the share of the evaluation day\'s impressions whose item id and user id both have a row of their own in the model\'s vocabularies (the rest score as out-of-vocabulary).',
  ];
  const differences = file.results.flatMap((r) => r.differences.map((d) => ({ evalDay: r.evalDay, ...d })));
  return {
    title: 'ESM2 day-by-day replay',
    source: `${file.data} (day column '${file.by}')`,
    modes: file.modes,
    days,
    notes,
    ...(differences.length > 0
      ? {
          differences,
          differencesMethod:
            "DeLong's paired test of two modes' AUCs on the same evaluation day's rows (CTR and CTCVR on every row, CVR on clicked rows): the difference, its 95 % interval and p; significant when the interval excludes 0.",
        }
      : {}),
  };
}

/** The replay page of replay.json, rendered (not written). */
export function renderReplay(file: ReplayFile): Promise<RenderedReport> {
  return renderReplayReport(replayReportInput(file));
}
