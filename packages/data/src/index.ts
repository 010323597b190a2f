/**
 * @esm2/data: from users' files to batches any backend consumes. Readers
 * (CSV/TSV/Parquet via DuckDB, streamed), config and inference, encoders
 * saved with the model, shuffled typed-array batches, importers for
 * Ali-CCP and Taobao UserBehavior, and a synthetic generator with known
 * true probabilities.
 */
export { batchToFeeds, type Batch } from './batch.js';
export { BadValueError, DataError, formatLocation, type Location, type OnBadRow } from './errors.js';
export { dataConfigSchema, loadDataConfig, parseDataConfig, type DataConfig, type DataConfigInput, type FieldConfig } from './config.js';
export { resolveConfig, TRUTH_NAMES, type ResolvedConfig, type TruthName } from './infer.js';
export { RowWriter, type FeatureArrays } from './encode/row-writer.js';
export { Encoders, UserNumbering, type EncodersJSON, type EncodedBlock, type BadCell, type FittedState, type EncoderLimits } from './encode/encoders.js';
export { fitEncoders, type FitOptions } from './encode/fit.js';
export { extendEncoders, type ExtendOptions, type FieldGrowth, type VocabularyGrowth } from './encode/extend.js';
export { encodersExtensionProblems, vocabularyRowChanges, type RowChanges } from './encode/extension.js';
export { encodersForSchema } from './encode/schema-match.js';
export { rawFeatureEncodings, rawFeeds, sampleRawRows, emptyListItem, type RawFeatureEncoding, type RawIdEncoding, type RawFeed } from './encode/raw-features.js';
export { openDataset, type DatasetOptions } from './dataset/open.js';
export { batches, type BatchOptions, type ShuffleOptions } from './dataset/batcher.js';
export { encodedStream, type EncodedStreamOptions, type Progress } from './dataset/encoded-stream.js';
export { rejectFileFor, type BadRowOptions, type BadRowReport } from './bad-rows.js';
export { openTable, type Table, type CsvOptions, type ColumnInfo } from './read/table.js';
export { TableScan, type RawChunk } from './read/scan.js';
export { detectFile, type FileKind } from './read/detect.js';
export { TableWriter, csvCell, writeTable, type OutputColumn } from './write/table-writer.js';
export { generateSynthetic, writeSynthetic, SYNTHETIC_CATEGORICAL, type SyntheticOptions, type SyntheticData } from './synthetic/generate.js';
export { DEFAULT_SIZES as DEFAULT_WORLD_SIZES, type WorldSizes } from './synthetic/world.js';
export { TARGET_RATES } from './synthetic/behaviour.js';
export { DEFAULT_DRIFT, type Drift } from './synthetic/moving.js';
export { importAliccp, detectAliccp, type AliccpOptions, type AliccpReport, type AliccpVariant } from './import/aliccp.js';
export { importAliccpEncoded } from './import/aliccp-encoded.js';
export { ALICCP_FIELDS } from './import/aliccp-fields.js';
export { importUserBehavior, USERBEHAVIOR_COLUMNS, type UserBehaviorOptions, type UserBehaviorReport } from './import/userbehavior.js';
export { inspectFile, type InspectReport } from './inspect.js';
export { prefetchDataset, type PrefetchOptions } from './dataset/prefetch.js';
export { startModuleWorker } from './worker-thread.js';
export { dayCounts, splitFile, writeDays, type DayRows, type SplitOptions, type SplitReport } from './split.js';
export { checkEncodePaths, writeEncodedShards, type EncodePaths, type EncodeShardsOptions, type EncodeShardsReport } from './shards/write.js';
export { EncodedShards, encodedEpochs, openEncodedDataset, type EncodedBatchOptions, type EncodedDatasetOptions, type EncodedEpochs } from './shards/read.js';
export { isEncodedDir, MANIFEST_FILE as SHARDS_MANIFEST_FILE, SHARDS_FORMAT, SHARDS_FORMAT_VERSION, type ShardColumnFile, type ShardDtype, type ShardsManifest } from './shards/manifest.js';
