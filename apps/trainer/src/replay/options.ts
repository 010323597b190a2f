import type { Esm2Metrics } from '@esm2/core';
import type { FitOptions } from '../api.js';
import type { LoopReporter } from '../train/loop.js';

/** What a replay takes (runReplay) and what it writes (replay.json): the types every part of replay shares. */

/**
 * How a model meets each new day: `incremental` trains day d's run from day
 * d−1's (a warm start), `retrain` trains a new run on the last `window` days,
 * `frozen` keeps the model trained on the days before `fromDay`.
 */
export const REPLAY_MODES = ['incremental', 'retrain', 'frozen'] as const;
export type ReplayMode = (typeof REPLAY_MODES)[number];

/** The fit settings a replay hands every run, under their fit option names. */
export const REPLAY_SETTINGS = [
  'model',
  'epochs',
  'batchSize',
  'lr',
  'embeddingLr',
  'embeddingL2',
  'seed',
  'towers',
  'embeddingDim',
  'interaction',
  'crossLayers',
  'lossWeights',
  'init',
  'daction',
  'shuffleBuffer',
  'backend',
  'workers',
  'threads',
] as const satisfies readonly (keyof FitOptions)[];
export type ReplaySetting = (typeof REPLAY_SETTINGS)[number];

export interface ReplayOptions extends Pick<FitOptions, ReplaySetting> {
  /** The event log: .csv, .tsv or .parquet with a day column. */
  data: string;
  /** The day column (whole numbers). */
  by: string;
  /** The first day trained on; the days before it train the bootstrap model (frozen's, and incremental's start). */
  fromDay: number;
  /** The last day trained on (default: the day before the data's last day, which evaluates it). */
  toDay?: number;
  modes: ReplayMode[];
  /** Days a retrain run trains on (default 7). */
  window?: number;
  /** Vocabulary bounds of the incremental runs (fit --max-ids, --evict-after). */
  maxIds?: number | Record<string, number>;
  evictAfterDays?: number;
  /** A fit config file (or its content) for every run, as fit --config takes. */
  config?: FitOptions['config'];
  /** The fields whose ids the known-id share counts (default item_id, and the encoders' user field or user_id). */
  itemField?: string;
  userField?: string;
  out: string;
  /** Continue a replay in `out`: finished runs are kept, the rest (re)done. */
  resume?: boolean;
  /** Per-run training progress (`tag` names the run). */
  reporter?: (tag: string) => LoopReporter;
  log?: (message: string) => void;
}

export const DEFAULT_WINDOW = 7;
export const REPLAY_JSON = 'replay.json';
export const REPLAY_HTML = 'report.html';
/** A finished run's evaluation, next to it: what --resume keeps. */
export const RUN_RESULT = 'replay-result.json';
/** What defines the replay's runs, checked by --resume. */
export const REPLAY_SETTINGS_FILE = 'replay-settings.json';

/** The metrics replay.json keeps of each evaluation: everything but the top-k tables. */
export type ReplayMetrics = Omit<Esm2Metrics, 'f1_at' | 'precision_at' | 'recall_at'>;

/** Share of the evaluation day's impressions whose item id, user id, and both, the model's vocabularies know. */
export interface KnownIds {
  item: number;
  user: number;
  both: number;
  /** The fields counted. */
  itemField: string;
  userField: string;
}

/** One model trained for (or kept at) a day, evaluated on the next. */
export interface ModeResult {
  /** Its run directory, relative to the replay's directory. */
  run: string;
  /** The days it was trained on (frozen: the bootstrap's), first and last. */
  trainDays: [number, number];
  /** Seconds its training took on this day (frozen: 0, it is not trained again). */
  trainSeconds: number;
  trainRows: number;
  evalSeconds: number;
  metrics: ReplayMetrics;
  knownIds: KnownIds;
  /** Table rows of the item and user fields' vocabularies (the OOV row included). */
  vocabulary: { item: number; user: number };
  /** The run it was warm-started from (incremental), relative to the replay's directory. */
  parent?: string;
}

/**
 * One mode's AUC on the evaluation day against another's (DeLong's paired
 * test on the same rows): `mode` − `baseline`, its 95 % interval and p.
 */
export interface DayDifference {
  mode: ReplayMode;
  baseline: ReplayMode;
  metric: 'ctr_auc' | 'cvr_auc' | 'ctcvr_auc';
  difference: number;
  ci95: [number, number];
  pValue: number;
  positives: number;
  reason?: string;
}

export interface DayResult {
  /** The day trained on. */
  day: number;
  /** The day evaluated on (day + 1) and its rows. */
  evalDay: number;
  evalRows: number;
  modes: Partial<Record<ReplayMode, ModeResult>>;
  /** incremental (else retrain) against every other mode, per task, on the evaluation day's rows. */
  differences: DayDifference[];
}

export interface ReplayFile {
  format: 'esm2-replay';
  version: 1;
  data: string;
  by: string;
  /** Every day of the data and its rows. */
  days: { day: number; rows: number }[];
  fromDay: number;
  toDay: number;
  window: number;
  modes: ReplayMode[];
  /** The settings every run was given (the rest: fit's defaults or the config's). */
  settings: Record<string, unknown>;
  /** The model trained on the days before fromDay. */
  bootstrap: { run: string; trainDays: [number, number]; trainRows: number; trainSeconds: number };
  results: DayResult[];
  /** Per mode over all days: mean AUCs and PCOCs, total training seconds. */
  summary: Partial<Record<ReplayMode, { days: number; meanAuc: Record<'ctr' | 'cvr' | 'ctcvr', number | null>; meanPcoc: Record<'ctr' | 'cvr' | 'ctcvr', number | null>; trainSeconds: number }>>;
}
