import type { Feeds, Scores } from '../feeds.js';
import type { FeedScorer } from '../server.js';

export interface GatedRun {
  /** Rows in this run (the first dimension of its first feed). */
  rows: number;
  feeds: Feeds;
  release(): void;
}

/**
 * A scorer stand-in whose runs wait until the test releases them, so a test
 * can hold requests "in flight" for as long as it needs and wait for events
 * (a run started) instead of sleeping. `answer` computes each run's scores
 * (it may be async: a real scorer behind the gate).
 */
export class GatedScorer implements FeedScorer {
  readonly runs: GatedRun[] = [];
  private opened = false;
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    private readonly answer: (feeds: Feeds, outputs: string[], rows: number) => Scores | Promise<Scores> = constantAnswer(0.5),
    readonly workers = 1,
  ) {}

  score(feeds: Feeds, outputs: string[]): Promise<Scores> {
    const rows = Object.values(feeds)[0]!.shape[0]!;
    return new Promise<Scores>((resolve) => {
      const run: GatedRun = { rows, feeds, release: () => resolve(this.answer(feeds, outputs, rows)) };
      this.runs.push(run);
      for (const w of this.waiters.filter((x) => this.runs.length >= x.count)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
      if (this.opened) run.release();
    });
  }

  /** Resolves once `count` runs have started (at once if they already have). */
  started(count: number): Promise<void> {
    if (this.runs.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Releases every run so far and lets all later runs through at once. */
  open(): void {
    this.opened = true;
    for (const r of this.runs) r.release();
  }

  /** Closes the gate again: runs from now on wait (for `open()` or their own `release()`). */
  hold(): void {
    this.opened = false;
  }
}

/** Scores `value` for every output and row. */
export function constantAnswer(value: number) {
  return (_feeds: Feeds, outputs: string[], rows: number): Scores => Object.fromEntries(outputs.map((o) => [o, new Float32Array(rows).fill(value)]));
}

/** Resolves once `fn` has been called `count` times: for hooks ("n requests received"). */
export function countdown(count: number): { tick: () => void; done: Promise<void> } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  let seen = 0;
  return {
    tick: () => {
      if (++seen === count) resolve();
    },
    done,
  };
}
