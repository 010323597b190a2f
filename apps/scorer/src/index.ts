/** @esm2/scorer: batch and HTTP scoring of ESM2-family models on onnxruntime; `Scorer` scores raw rows from code. */
export { Scorer } from './scorer.js';
export { loadScoringModel, type ScoringModel, type ScoringGraph, type ModelSource } from './model.js';
export { ScoringPool, type PoolOptions } from './pool.js';
export { LocalScorer } from './local-scorer.js';
export { BatchQueue, OverloadedError, type BatchQueueOptions } from './batch-queue.js';
export { answerBatch, type Answer, type AnswerOutcome, type AnsweredBatch, type RawRequest } from './prepare.js';
export {
  buildService,
  DEFAULT_LIMITS,
  VersionSet,
  type Service,
  type ServiceLimits,
  type ServiceOptions,
  type FeedScorer,
  type ServedVersion,
  type VersionScorer,
  type VersionState,
} from './server.js';
export { ModelRepository, warmPool, type RepositoryOptions, type RepositoryLogger, type Switched } from './repository.js';
export { startService, type RunningService, type StartOptions } from './serve.js';
export { scoreFile, type ScoreFileOptions, type ScoreFileReport } from './batch-score.js';
export { RequestError, parseRows, encodeRows, allowedFields } from './request.js';
export { concatFeeds, sliceScores, scoresToRows, type Feeds, type Scores } from './feeds.js';
export { formatFloat32 } from './float-format.js';
