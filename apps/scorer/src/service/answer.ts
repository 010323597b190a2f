import { BatchQueue } from '../batch-queue.js';
import type { Metrics } from '../metrics.js';
import { answerBatch, outcomeError, type Answer, type AnswerOutcome, type AnsweredBatch, type PrepareContext, type RawRequest } from '../prepare.js';
import type { FeedScorer, ServiceLimits } from './limits.js';

export interface Answerer {
  /** Request bodies waiting for (or being answered by) a worker, merged into batches. */
  batcher: BatchQueue<RawRequest, AnswerOutcome>;
  /**
   * A request's body answered through the batcher (parsed, validated and
   * encoded as training did, scored, its response body written) within the
   * per-request timeout (the batcher's TimeoutError past it); a refusal
   * is thrown as the error it was.
   */
  answer(request: RawRequest): Promise<Answer>;
}

/** How the routes get a model version's answers: request bodies queued, merged into batches and answered by that version's scorer. */
export function createAnswerer(context: PrepareContext, scorer: FeedScorer, limits: ServiceLimits, metrics: Metrics): Answerer {
  const outputs = [...context.model.predictions];
  const labels = { version: context.model.version };
  const answerBodies = (requests: RawRequest[]): Promise<AnsweredBatch> =>
    scorer.answerBodies ? scorer.answerBodies(requests, limits.maxBatchRows) : answerBatch(context, requests, limits.maxBatchRows, (feeds) => scorer.score(feeds, outputs));
  // A body's rows are known only once a worker has parsed it: the queue weighs each body at the
  // bytes per row seen so far (a running mean over answered bodies), which is what maxQueueRows
  // and maxBatchRows bound here. The worker splits session runs at maxBatchRows exactly.
  let bytesPerRow = 100;
  const estimatedRows = (request: RawRequest) => Math.max(1, Math.round((request.body?.byteLength ?? 0) / bytesPerRow));
  const batcher = new BatchQueue<RawRequest, AnswerOutcome>(
    async (requests) => {
      // Read before the hand-off: a worker pool takes the bodies' buffers (transferred, not copied).
      const sizes = requests.map((r) => r.body?.byteLength ?? 0);
      const { outcomes, runs } = await answerBodies(requests);
      for (const rows of runs) metrics.batchRows.observe(labels, rows);
      outcomes.forEach((o, k) => {
        const bytes = sizes[k]!;
        if (o.rows !== undefined && o.rows > 0 && bytes > 0) bytesPerRow = 0.9 * bytesPerRow + 0.1 * (bytes / o.rows);
      });
      return outcomes;
    },
    // The per-request timeout is the batcher's: one timer for every request waiting, not one each.
    { maxBatchRows: limits.maxBatchRows, concurrency: scorer.workers, maxQueueRows: limits.maxQueueRows, timeoutMs: limits.timeoutMs },
  );

  async function answer(request: RawRequest): Promise<Answer> {
    const outcome = await batcher.submit(request, estimatedRows(request));
    if (outcome.rows !== undefined) metrics.requestRows.observe(labels, outcome.rows);
    if (!outcome.ok) throw outcomeError(outcome);
    return outcome;
  }

  return { batcher, answer };
}
