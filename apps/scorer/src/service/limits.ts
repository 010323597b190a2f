import type { Feeds, Scores } from '../feeds.js';
import type { AnsweredBatch, RawRequest } from '../prepare.js';

export interface ServiceLimits {
  /** Largest request body in bytes (413 beyond). */
  bodyLimit: number;
  /** Most rows per request (413 beyond). */
  maxRows: number;
  /** A request not scored within this many ms is answered 503. */
  timeoutMs: number;
  /** Most rows merged into one session run. */
  maxBatchRows: number;
  /** Rows allowed to wait for a worker before new requests get 503. */
  maxQueueRows: number;
  /** A request (headers and body) not received within this many ms is answered 408 and its connection closed. */
  requestTimeoutMs: number;
  /** On close, connections still open after this many ms (a stalled upload, a slow reader) are destroyed. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  bodyLimit: 8 * 2 ** 20,
  maxRows: 10_000,
  timeoutMs: 5_000,
  maxBatchRows: 2_048,
  maxQueueRows: 100_000,
  requestTimeoutMs: 10_000,
  shutdownTimeoutMs: 10_000,
};

/** Anything that scores stacked feeds: the worker pool in production, stand-ins in tests. */
export interface FeedScorer {
  readonly workers: number;
  score(feeds: Feeds, outputs: string[]): Promise<Scores>;
  /**
   * Answers a batch of request bodies elsewhere (the pool: answerBatch in a
   * worker, off the HTTP thread). Without it the service runs the same
   * answerBatch on its own thread, scoring through `score`.
   */
  answerBodies?(requests: RawRequest[], maxBatchRows: number): Promise<AnsweredBatch>;
  /** Scores on the thread that calls it (the HTTP thread; `serve --workers 0`): the service reports 0 worker threads. */
  readonly onCallingThread?: boolean;
}
