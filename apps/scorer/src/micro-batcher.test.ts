import type { HostTensor } from '@esm2/core';
import { describe, expect, it } from 'vitest';
import type { Feeds } from './feeds.js';
import { MicroBatcher, OverloadedError } from './micro-batcher.js';
import { GatedScorer } from './test-support/gated-scorer.js';

/** Feeds for `rows` rows whose single input holds the given row tags, so results can be traced to rows. */
const feedsOf = (tags: number[]): Record<string, HostTensor> => ({ x: { shape: [tags.length], data: Float32Array.from(tags) } });

/** A fake scorer: output = input × 2, holds each run until released, and records batch sizes. */
function gatedScorer() {
  const scorer = new GatedScorer((feeds) => ({ y: (feeds.x!.data as Float32Array).map((v) => v * 2) }));
  return { runs: scorer.runs, run: (feeds: Feeds) => scorer.score(feeds, ['y']) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('MicroBatcher', () => {
  it('dispatches a lone request at once, then merges requests that arrive while the worker is busy', async () => {
    const s = gatedScorer();
    const b = new MicroBatcher(s.run, { maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000 });
    const first = b.submit(feedsOf([1, 2]), 2);
    await tick();
    expect(s.runs.map((r) => r.rows)).toEqual([2]);
    const second = b.submit(feedsOf([3]), 1);
    const third = b.submit(feedsOf([4, 5, 6]), 3);
    await tick();
    expect(s.runs).toHaveLength(1); // worker busy: both wait
    s.runs[0]!.release();
    expect([...(await first).y!]).toEqual([2, 4]);
    await tick();
    expect(s.runs.map((r) => r.rows)).toEqual([2, 4]); // merged into one run
    s.runs[1]!.release();
    expect([...(await second).y!]).toEqual([6]);
    expect([...(await third).y!]).toEqual([8, 10, 12]);
  });

  it('never merges past maxBatchRows, but runs an oversized request alone', async () => {
    const s = gatedScorer();
    const sizes: number[] = [];
    const b = new MicroBatcher(s.run, { maxBatchRows: 4, concurrency: 1, maxQueueRows: 1000, onBatch: (n) => sizes.push(n) });
    const all = [b.submit(feedsOf([1, 1, 1]), 3), b.submit(feedsOf([2, 2]), 2), b.submit(feedsOf([3, 3, 3, 3, 3, 3]), 6), b.submit(feedsOf([4]), 1)];
    for (let i = 0; i < 4; i++) {
      await tick();
      s.runs[i]?.release();
    }
    await Promise.all(all);
    expect(sizes).toEqual([3, 2, 6, 1]);
  });

  it('uses every worker: with concurrency 2, two runs are in flight', async () => {
    const s = gatedScorer();
    const b = new MicroBatcher(s.run, { maxBatchRows: 100, concurrency: 2, maxQueueRows: 1000 });
    const p = [b.submit(feedsOf([1]), 1)];
    await tick();
    p.push(b.submit(feedsOf([2]), 1));
    await tick();
    expect(b.busy).toBe(2);
    s.runs.forEach((r) => r.release());
    await Promise.all(p);
  });

  it('withdraws an aborted request that is still queued', async () => {
    const s = gatedScorer();
    const b = new MicroBatcher(s.run, { maxBatchRows: 100, concurrency: 1, maxQueueRows: 1000 });
    const first = b.submit(feedsOf([1]), 1);
    await tick();
    const controller = new AbortController();
    const dropped = b.submit(feedsOf([7, 7]), 2, controller.signal);
    controller.abort(new Error('timed out'));
    await expect(dropped).rejects.toThrow('timed out');
    expect(b.pendingRows).toBe(0);
    s.runs[0]!.release();
    await first;
    await tick();
    expect(s.runs).toHaveLength(1);
  });

  it('refuses work beyond maxQueueRows with OverloadedError', async () => {
    const s = gatedScorer();
    const b = new MicroBatcher(s.run, { maxBatchRows: 100, concurrency: 1, maxQueueRows: 3 });
    const running = b.submit(feedsOf([1]), 1);
    await tick();
    const queued = b.submit(feedsOf([1, 1]), 2);
    await expect(b.submit(feedsOf([1, 1]), 2)).rejects.toBeInstanceOf(OverloadedError);
    s.runs[0]!.release();
    await running;
    await tick();
    s.runs[1]!.release();
    await queued;
  });

  it('drain resolves when the last queued and running work is done, not before', async () => {
    const s = gatedScorer();
    const b = new MicroBatcher(s.run, { maxBatchRows: 1, concurrency: 1, maxQueueRows: 1000 });
    await b.drain(); // idle: at once
    const results = [b.submit(feedsOf([1]), 1), b.submit(feedsOf([2]), 1)];
    let drained = false;
    const draining = b.drain().then(() => (drained = true));
    await tick();
    s.runs[0]!.release();
    await results[0];
    await tick();
    expect(drained).toBe(false); // the second request is now running
    s.runs[1]!.release();
    await draining;
    expect(drained).toBe(true);
    await Promise.all(results);
  });

  it('rejects every request of a failed run and keeps serving', async () => {
    let fail = true;
    const b = new MicroBatcher(
      (f) => (fail ? Promise.reject(new Error('session exploded')) : Promise.resolve({ y: (f.x!.data as Float32Array).slice() })),
      { maxBatchRows: 100, concurrency: 1, maxQueueRows: 100 },
    );
    await expect(b.submit(feedsOf([1]), 1)).rejects.toThrow('session exploded');
    fail = false;
    expect([...(await b.submit(feedsOf([5]), 1)).y!]).toEqual([5]);
  });
});
