/**
 * @esm2/report: one self-contained HTML page (inline CSS and SVG, no network
 * at view time) from plain data — an `eval` of one model or a `compare` of
 * several models over seeds, or a day-by-day replay: metric tables (mean ± sd, positives behind each
 * figure), ROC and calibration per task, training curves, top-k bars.
 */
export { writeReport, renderReport, formatMeanSd, type RenderedReport } from './html.js';
export { renderSvg, rocChart, calibrationChart, trainingChart, topKChart, dayChart, TASK_NAMES, type DayPoint, type RenderedChart } from './charts.js';
export { renderReplayReport, writeReplayReport, type ReplayReportDay, type ReplayReportDifference, type ReplayReportEntry, type ReplayReportInput } from './replay.js';
export {
  rocCurve,
  areaUnder,
  reliabilityBins,
  esm2Curves,
  DEFAULT_ROC_POINTS,
  DEFAULT_RELIABILITY_BINS,
  type RocCurve,
  type ReliabilityBin,
  type TaskCurves,
} from './curves.js';
export { escapeHtml } from './escape.js';
export { meanSd } from './stats.js';
export type { DataSummary, HistoryEpoch, ReportInput, ReportModel, ReportRun } from './types.js';
