import { artifactInputs, namedPath, refuseSamePaths, type NamedPath } from '@esm2/core/node';
import { BadValueError, Encoders, batchToFeeds, openDataset, rejectFileFor, writeTable, type Batch, type OutputColumn, type OnBadRow } from '@esm2/data';
import { concatFeeds, type Feeds, type Scores } from './feeds.js';
import { formatFloat32 } from './float-format.js';
import type { ScoringModel } from './model.js';
import { RequestError, allowedFields, parseRows } from './request.js';

export interface FileScorer {
  readonly workers: number;
  score(feeds: Feeds, outputs: string[]): Promise<Scores>;
}

export interface ScoreFileOptions {
  model: ScoringModel;
  scorer: FileScorer;
  /** A CSV/Parquet file, or JSON rows (`esm2-score score --data -` with JSON lines on stdin). */
  data: string | RowChunks;
  /** A .csv/.parquet file (written atomically), or a sink the predictions stream into (`--out -`). */
  out: string | PredictionSink;
  batchSize?: number;
  /** Input columns copied to the output next to the scores; default `defaultKeyColumns` of the model. */
  keys?: string[];
  onBadRow?: OnBadRow;
  rejectFile?: string;
  /** Rows read so far and, for Parquet, the total. */
  onProgress?: (rows: number, total: number | undefined) => void;
  /**
   * Stops scoring (Ctrl-C): the read and the session runs under way are
   * waited for, the reader's DuckDB connection closed and the partial output
   * removed, then scoreFile rejects with the signal's reason. Exiting with
   * a native call still in flight can abort the process from C++.
   */
  signal?: AbortSignal;
}

/** JSON rows in chunks, each with the line number of its first row, from a source named `name` in errors. */
export interface RowChunks {
  name: string;
  chunks: AsyncIterable<{ rows: Record<string, unknown>[]; line: number }>;
}

/** Where streamed predictions go: `open` gets the output columns, then rows arrive column-major. */
export interface PredictionSink {
  open(columns: OutputColumn[]): void;
  writeColumns(values: ArrayLike<unknown>[], n: number): Promise<void>;
  close(): Promise<void>;
}

export interface ScoreFileReport {
  rows: number;
  skipped: number;
  columns: string[];
  /** How many of the columns are copied input keys. */
  keys: number;
}

/** Field names of item ids, as the importers and the generator write them (Ali-CCP's item id is field 205). */
const ITEM_ID_FIELDS = ['item_id', 'item', 'iid', 'itemid', 'f205'];

/**
 * The input columns scoring copies next to the scores when none are named:
 * the key columns of the training data config (`keys`), else the columns
 * the model itself reads as ids, its user field and its item id field (e.g.
 * user_id, item_id), so that rows of the output can be told apart. Every
 * input has these columns, since the model needs them.
 */
export function defaultKeyColumns(config: Encoders['config']): string[] {
  if (config.keys.length > 0) return [...config.keys];
  const user = config.fields.find((f) => f.name === config.userField);
  const item = config.fields.find((f) => f.kind === 'categorical' && ITEM_ID_FIELDS.includes(f.name));
  return [...new Set([user?.column, item?.column].filter((c): c is string => c !== undefined))];
}

/**
 * Scores a CSV/Parquet file into another: the input's key columns, then the
 * model's predictions. Rows stream through (flat memory); up to one batch per
 * worker is in flight while the next is read, and results are written in
 * input order. The output appears only when complete (atomic rename); an
 * output that is the input, the model or the reject file is refused first.
 */
export async function scoreFile(options: ScoreFileOptions): Promise<ScoreFileReport> {
  const { model, scorer } = options;
  const modelFiles: NamedPath[] =
    model.source.kind === 'file'
      ? [{ flag: '--model', path: model.source.path }, { flag: '--model', path: `${model.source.path}.data` }]
      : artifactInputs(model.origin);
  const dataPath = typeof options.data === 'string' ? options.data : undefined;
  const outPath = typeof options.out === 'string' ? options.out : undefined;
  if (dataPath === undefined && options.onBadRow === 'skip') throw new Error('--on-bad-row skip needs --data FILE (its rejects are written beside it)');
  await refuseSamePaths(
    [namedPath('--data', dataPath), ...modelFiles],
    [
      namedPath('--out', outPath),
      dataPath !== undefined && options.onBadRow === 'skip' ? { flag: '--reject-file', path: rejectFileFor(dataPath, options) } : undefined,
    ],
  );
  const config = model.encoders.config;
  const keys = options.keys ?? defaultKeyColumns(config);
  // Keys ride along in batches; other columns are read only when named here.
  const sameKeys = keys.length === config.keys.length && keys.every((k, i) => k === config.keys[i]);
  const encoders = sameKeys ? model.encoders : new Encoders({ ...config, keys }, model.encoders.state);
  const outputs = [...model.predictions];
  // Keys keep their text form: ids like 007 or 12345678901234567890 survive untouched.
  const columns: OutputColumn[] = [...keys.map((name) => ({ name, type: 'VARCHAR' as const })), ...outputs.map((name) => ({ name, type: 'FLOAT' as const }))];
  const clash = keys.find((k) => (outputs as string[]).includes(k));
  if (clash) throw new Error(`key column '${clash}' has the name of a prediction column`);
  let skipped = 0;
  const dataset =
    typeof options.data === 'string'
      ? openDataset(options.data, {
          encoders,
          batchSize: options.batchSize ?? 4096,
          labels: false,
          ...(options.onBadRow ? { onBadRow: options.onBadRow } : {}),
          ...(options.rejectFile ? { rejectFile: options.rejectFile } : {}),
          onProgress: (p) => options.onProgress?.(p.rows, p.totalRows),
          onDone: (r) => (skipped = r.skipped),
        })
      : encodeChunks(options.data, encoders, new Set([...allowedFields(model), ...keys]), options.onProgress);
  let rows = 0;
  const write = async (body: (w: Pick<PredictionSink, 'writeColumns'>) => Promise<void>) => {
    if (typeof options.out === 'string') return writeTable(options.out, columns, body);
    options.out.open(columns);
    await body(options.out);
    await options.out.close();
  };
  await write(async (w) => {
    const window: { keys: (string | number)[][]; size: number; scores: Promise<Scores> }[] = [];
    const flush = async () => {
      const next = window.shift()!;
      const scores = await next.scores;
      const cols = outputs.map((o) => Array.from(scores[o]!, formatFloat32));
      await w.writeColumns([...next.keys, ...cols], next.size);
      rows += next.size;
    };
    try {
      options.signal?.throwIfAborted();
      // Leaving this loop (abort or error) closes the reader; no read is in flight then, as the body runs between reads.
      for await (const batch of dataset) {
        options.signal?.throwIfAborted();
        // A fresh copy: pool scorers transfer (detach) the buffers they are given.
        const feeds = concatFeeds([batchToFeeds(model.graph, batch)]);
        const scores = scorer.score(feeds, outputs);
        scores.catch(() => undefined); // awaited in order by flush; avoid an unhandled rejection meanwhile
        window.push({ keys: keys.map((k) => batch.keys?.[k] ?? []), size: batch.size, scores });
        if (window.length > scorer.workers) await flush();
      }
      while (window.length > 0) {
        options.signal?.throwIfAborted();
        await flush();
      }
    } catch (e) {
      // Session runs still under way finish before the caller may close the pool and exit.
      await Promise.allSettled(window.map((w) => w.scores));
      throw e;
    }
  });
  return { rows, skipped, columns: columns.map((c) => c.name), keys: keys.length };
}

/**
 * JSON rows as batches: checked as POST /v1/score checks them (unknown keys
 * refused) and encoded the same way, errors naming the source and line.
 */
async function* encodeChunks(source: RowChunks, encoders: Encoders, allowed: ReadonlySet<string>, onProgress?: (rows: number, total: undefined) => void): AsyncGenerator<Batch> {
  const inputs = encoders.columns(false);
  let done = 0;
  for await (const { rows, line } of source.chunks) {
    let batch: Batch;
    try {
      parseRows({ rows }, allowed, Infinity, inputs);
      batch = encoders.encodeRows(rows);
    } catch (e) {
      if (!(e instanceof RequestError || e instanceof BadValueError)) throw e;
      // "row i…" of the chunk → the line it came from.
      const m = /^row (\d+)(.*)$/s.exec(e.message);
      throw new Error(m ? `${source.name} line ${line + Number(m[1])}${m[2]}` : `${source.name}: ${e.message}`, { cause: e });
    }
    yield batch;
    done += rows.length;
    onProgress?.(done, undefined);
  }
}
