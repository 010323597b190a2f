import { describe, expect, it, vi } from 'vitest';
import { BatchQueue, OverloadedError, TimeoutError, type BatchQueueOptions } from './batch-queue.js';

/** One batch handed to the run function: its payloads and rows as given, released (answered) when the test says. */
interface GatedBatch {
  payloads: number[][];
  rows: number[];
  release(): void;
}

/**
 * A queue whose batches wait until the test releases them, so work can be
 * held "in flight" without sleeping. Each payload is a list of row tags and
 * is answered with its tags × 2, so every answer can be traced to its request.
 */
function gatedQueue(options: BatchQueueOptions) {
  const batches: GatedBatch[] = [];
  const queue = new BatchQueue<number[], number[]>(
    (payloads, rows) => new Promise((resolve) => batches.push({ payloads, rows, release: () => resolve(payloads.map((p) => p.map((v) => v * 2))) })),
    options,
  );
  return { queue, batches };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchQueue', () => {
  it('dispatches a lone request at once, then merges requests that arrive while the worker is busy, each answered with its own result', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000 });
    const first = queue.submit([1, 2], 2);
    await tick();
    expect(batches.map((b) => b.rows)).toEqual([[2]]);
    const second = queue.submit([3], 1);
    const third = queue.submit([4, 5, 6], 3);
    await tick();
    expect(batches).toHaveLength(1); // worker busy: both wait
    expect(queue.pendingRows).toBe(4);
    batches[0]!.release();
    expect(await first).toEqual([2, 4]);
    await tick();
    // Merged into one run, in arrival order, each payload with its rows.
    expect(batches[1]).toMatchObject({ payloads: [[3], [4, 5, 6]], rows: [1, 3] });
    expect(queue.pendingRows).toBe(0);
    batches[1]!.release();
    expect(await second).toEqual([6]);
    expect(await third).toEqual([8, 10, 12]);
  });

  it('never merges past maxBatchRows, but runs an oversized request alone', async () => {
    const sizes: number[] = [];
    const { queue, batches } = gatedQueue({ maxBatchRows: 4, concurrency: 1, maxQueueRows: 1000, onBatch: (n) => sizes.push(n) });
    const all = [queue.submit([1, 1, 1], 3), queue.submit([2, 2], 2), queue.submit([3, 3, 3, 3, 3, 3], 6), queue.submit([4], 1)];
    for (let i = 0; i < 4; i++) {
      await tick();
      batches[i]?.release();
    }
    expect(await Promise.all(all)).toEqual([[2, 2, 2], [4, 4], [6, 6, 6, 6, 6, 6], [8]]);
    expect(sizes).toEqual([3, 2, 6, 1]);
    expect(batches.map((b) => b.rows)).toEqual([[3], [2], [6], [1]]);
  });

  it('uses every worker: with concurrency 2, two runs are in flight', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 2, maxQueueRows: 1000 });
    const p = [queue.submit([1], 1)];
    await tick();
    p.push(queue.submit([2], 1));
    await tick();
    expect(queue.busy).toBe(2);
    expect(batches).toHaveLength(2);
    batches.forEach((b) => b.release());
    expect(await Promise.all(p)).toEqual([[2], [4]]);
    expect(queue.busy).toBe(0);
  });

  it('withdraws an aborted request that is still queued', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000 });
    const first = queue.submit([1], 1);
    await tick();
    const controller = new AbortController();
    const dropped = queue.submit([7, 7], 2, controller.signal);
    expect(queue.pendingRows).toBe(2);
    controller.abort(new Error('timed out'));
    await expect(dropped).rejects.toThrow('timed out');
    expect(queue.pendingRows).toBe(0);
    batches[0]!.release();
    await first;
    await tick();
    expect(batches).toHaveLength(1); // the withdrawn request never ran
  });

  it('refuses work beyond maxQueueRows with OverloadedError', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 3 });
    const running = queue.submit([1], 1);
    await tick();
    const queued = queue.submit([1, 1], 2);
    const refused = queue.submit([1, 1], 2);
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toThrow('scoring queue is full (2 rows waiting)');
    batches[0]!.release();
    await running;
    await tick();
    expect(batches[1]!.payloads).toEqual([[1, 1]]); // the refused request was never queued
    batches[1]!.release();
    await queued;
  });

  it('drain resolves when the last queued and running work is done, not before', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 1, concurrency: 1, maxQueueRows: 1000 });
    await queue.drain(); // idle: at once
    const results = [queue.submit([1], 1), queue.submit([2], 1)];
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    await tick();
    batches[0]!.release();
    await results[0];
    await tick();
    expect(drained).toBe(false); // the second request is now running
    batches[1]!.release();
    await draining;
    expect(drained).toBe(true);
    await Promise.all(results);
  });

  it('rejects every request of a failed run and keeps serving', async () => {
    let fail = true;
    const queue = new BatchQueue<number[], number[]>((payloads) => (fail ? Promise.reject(new Error('session exploded')) : Promise.resolve(payloads.map((p) => p.slice()))), {
      maxBatchRows: 100,
      concurrency: 1,
      maxQueueRows: 100,
    });
    const failed = [queue.submit([1], 1), queue.submit([2], 1)];
    for (const f of failed) await expect(f).rejects.toThrow('session exploded');
    fail = false;
    expect(await queue.submit([5], 1)).toEqual([5]);
  });

  it('merges requests that arrive in the same turn even with a worker free, and dispatches by the end of that turn', async () => {
    const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 2, maxQueueRows: 1000 });
    const answers = [queue.submit([1], 1), queue.submit([2], 1), queue.submit([3], 1)];
    expect(batches).toHaveLength(0);
    await tick();
    expect(batches.map((b) => b.payloads)).toEqual([[[1], [2], [3]]]);
    batches[0]!.release();
    expect(await Promise.all(answers)).toEqual([[2], [4], [6]]);
  });

  it('times out what is past its deadline with one timer for every request: a queued request is withdrawn, a running one answered with the timeout and its late result dropped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { queue, batches } = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000, timeoutMs: 30 });
      const outcome = (p: Promise<unknown>) => p.then(() => 'answered', (e: Error) => `${e instanceof TimeoutError ? 'TimeoutError' : `not a TimeoutError (${e.name})`}: ${e.message}`);
      const running = outcome(queue.submit([1], 1));
      await tick();
      expect(batches).toHaveLength(1);
      const queued = outcome(queue.submit([2, 2], 2));
      vi.advanceTimersByTime(20);
      const later = outcome(queue.submit([3], 1));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(10);
      // 30 ms after their submit: the first two; the third has 20 ms left.
      const timedOut = 'TimeoutError: scoring did not finish within 30 ms';
      expect(await running).toBe(timedOut);
      expect(await queued).toBe(timedOut);
      expect(queue.pendingRows).toBe(1);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(19);
      expect(queue.pendingRows).toBe(1);
      vi.advanceTimersByTime(1);
      expect(await later).toBe(timedOut);
      expect(queue.pendingRows).toBe(0);
      expect(vi.getTimerCount()).toBe(0); // nothing waits: no timer left to hold the process
      batches[0]!.release(); // the late result goes nowhere
      await tick();
      expect(batches).toHaveLength(1); // the withdrawn requests never ran
      await queue.drain();
      // And the queue keeps serving: an answer in time is an answer.
      const next = queue.submit([5], 1);
      await tick();
      batches[1]!.release();
      expect(await next).toEqual([10]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('arms no timer without a timeout, and drops the timer once every request is answered in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const plain = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000 });
      const first = plain.queue.submit([1], 1);
      await tick();
      expect(vi.getTimerCount()).toBe(0);
      plain.batches[0]!.release();
      await first;
      const timed = gatedQueue({ maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000, timeoutMs: 60_000 });
      const answers = [timed.queue.submit([1], 1)];
      await tick();
      answers.push(timed.queue.submit([2], 1)); // queued behind the first
      expect(vi.getTimerCount()).toBe(1);
      timed.batches[0]!.release();
      await answers[0];
      expect(vi.getTimerCount()).toBe(1); // the second still waits
      await tick();
      timed.batches[1]!.release();
      expect(await Promise.all(answers)).toEqual([[2], [4]]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
