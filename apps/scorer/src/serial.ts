/** Runs what it is given one at a time, in order: each starts once the one before settled (failed or not). */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once everything given so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
