import { createMetrics, type Metrics } from '../metrics.js';
import type { ScoringModel } from '../model.js';
import { modelMetadata } from '../open-inference.js';
import { prepareContext, type PrepareContext } from '../prepare.js';
import { RequestError } from '../request.js';
import type { FastifyRequest } from 'fastify';
import { createAnswerer, type Answerer } from './answer.js';
import { labelVersion } from './request-version.js';
import { DEFAULT_LIMITS, type FeedScorer, type ServiceLimits } from './limits.js';

/** A scorer a version owns: closed (finishing its queued work) once the version is retired, or destroyed when shutdown had to cut things off. */
export interface VersionScorer extends FeedScorer {
  close(): Promise<void>;
  destroy?(): Promise<void>;
}

/** A model version ready to answer: its model, what requests are checked against, and its own scorer and batcher. */
export interface ServedVersion {
  /** What responses name as `model_version` (ScoringModel.version). */
  readonly version: string;
  readonly model: ScoringModel;
  readonly context: PrepareContext;
  readonly answerer: Answerer;
  readonly metadata: ReturnType<typeof modelMetadata>;
  /** Worker threads scoring it (0: scored on the HTTP thread). */
  readonly workers: number;
}

/** A request's hold on the version that took it: the version is not closed before every lease on it is released. */
export interface Lease {
  readonly served: ServedVersion;
  release(): void;
}

interface Entry {
  served: ServedVersion;
  scorer: VersionScorer | FeedScorer;
  /** Whether closing the version closes its scorer (false: the caller owns it, as buildService's). */
  owned: boolean;
  inFlight: number;
  retired: boolean;
  /** Resolves once the version is closed (its batcher drained, its scorer closed). */
  closed: Promise<void>;
  resolveClosed: () => void;
  closing: boolean;
}

/**
 * The model versions a service answers with: one current version, which
 * takes every new request, and retired ones finishing the requests they
 * took. `switchTo` replaces the current version at once (one assignment on
 * the event loop, so no request sees a half-made switch); a request is
 * bound to the version current when it is taken (`acquire`) and finishes
 * on it; a retired version is closed — its batcher drained, its scorer (the
 * worker pool and its onnxruntime sessions) closed — when its last request
 * releases it.
 */
export class VersionSet {
  readonly limits: ServiceLimits;
  readonly metrics: Metrics;
  #current: Entry | undefined;
  readonly #retired = new Set<Entry>();
  readonly #entries = new WeakMap<ServedVersion, Entry>();
  /** Told when closing a version's scorer fails (the version is gone either way). Default: a process warning. */
  onCloseError: (version: string, error: Error) => void = (version, error) => process.emitWarning(`closing model version ${version}: ${error.message}`);
  /** Said by a request that finds no version serving. */
  #unavailable = 'no version is loaded';

  constructor(
    /** The model's name: /v2/models/{name}. */
    readonly name: string,
    limits: Partial<ServiceLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.metrics = createMetrics();
  }

  /** A version ready to switch to: the model's request checks and metadata computed, its answerer (batcher) made; nothing is served yet. */
  prepare(model: ScoringModel, scorer: FeedScorer, options: { owned?: boolean } = {}): ServedVersion {
    const context = prepareContext(model);
    const served: ServedVersion = {
      version: model.version,
      model,
      context,
      answerer: createAnswerer(context, scorer, this.limits, this.metrics),
      metadata: modelMetadata(model, context.specs),
      workers: scorer.onCallingThread ? 0 : scorer.workers,
    };
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    this.#entries.set(served, { served, scorer, owned: options.owned ?? true, inFlight: 0, retired: false, closed, resolveClosed, closing: false });
    return served;
  }

  /** The version taking new requests. */
  get current(): ServedVersion | undefined {
    return this.#current?.served;
  }

  /** Retired versions still finishing their requests. */
  get retiring(): ServedVersion[] {
    return [...this.#retired].map((e) => e.served);
  }

  /**
   * Binds a request to the current version (which must be `version` when
   * one is named): 404 for another version, 503 when none is serving.
   */
  acquire(version?: string): Lease {
    const entry = this.#current;
    if (!entry) throw new RequestError(`model '${this.name}' is not available: ${this.#unavailable}`, 503);
    if (version !== undefined && version !== entry.served.version) {
      throw new RequestError(`model '${this.name}' has no version '${version}' loaded: it serves version '${entry.served.version}'`, 404);
    }
    entry.inFlight++;
    let released = false;
    return {
      served: entry.served,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.retired && entry.inFlight === 0) this.#close(entry, true);
      },
    };
  }

  /**
   * Makes `next` (from `prepare`) the current version, or with undefined
   * serves none (`reason` says why to the requests that come). The version
   * it replaces is retired; resolves once that one is closed (at once when
   * there was none).
   */
  switchTo(next: ServedVersion | undefined, reason?: string): { previous: string | undefined; retired: Promise<void> } {
    const entry = next && this.#entries.get(next);
    if (next && !entry) throw new Error(`version ${next.version} was not prepared by this set`);
    if (entry && (entry.retired || entry === this.#current)) throw new Error(`version ${next.version} cannot be switched to again`);
    const old = this.#current;
    this.#current = entry;
    if (reason !== undefined) this.#unavailable = reason;
    if (entry) this.metrics.serving.set({ version: entry.served.version }, 1);
    if (!old) return { previous: undefined, retired: Promise.resolve() };
    old.retired = true;
    this.#retired.add(old);
    if (old.served.version !== entry?.served.version) this.metrics.serving.set({ version: old.served.version }, 0);
    if (old.inFlight === 0) this.#close(old, true);
    return { previous: old.served.version, retired: old.closed };
  }

  /** Closes a prepared version that never became current (its warm-up or checks failed after it was prepared). */
  async discard(served: ServedVersion): Promise<void> {
    const entry = this.#entries.get(served);
    if (!entry || entry === this.#current || entry.retired) return;
    entry.retired = true;
    this.#close(entry, true);
    await entry.closed;
  }

  /** Every batcher of a version still loaded has nothing queued or running. */
  async drain(): Promise<void> {
    const entries = [...(this.#current ? [this.#current] : []), ...this.#retired];
    await Promise.all(entries.map((e) => e.served.answerer.batcher.drain()));
  }

  /**
   * Shutdown: every version loaded is closed (`clean`: its queued work
   * finishes; else its scorer is destroyed). Nothing serves afterwards.
   */
  async close(clean: boolean): Promise<void> {
    const entries = [...(this.#current ? [this.#current] : []), ...this.#retired];
    this.#current = undefined;
    this.#unavailable = 'the server is shutting down';
    for (const e of entries) {
      e.retired = true;
      this.#retired.add(e);
      this.#close(e, clean);
    }
    await Promise.all(entries.map((e) => e.closed));
  }

  #close(entry: Entry, clean: boolean): void {
    if (entry.closing) return;
    entry.closing = true;
    const { served, scorer } = entry;
    void (async () => {
      try {
        if (clean) await served.answerer.batcher.drain();
        if (entry.owned && 'close' in scorer) {
          const s = scorer;
          await (clean || !s.destroy ? s.close() : s.destroy());
        }
      } catch (e) {
        this.onCloseError(served.version, e instanceof Error ? e : new Error(String(e)));
      } finally {
        this.#retired.delete(entry);
        // A version loaded again later has its series set again then.
        if (this.#current?.served.version !== served.version) {
          this.metrics.serving.remove({ version: served.version });
          this.metrics.queuedRows.remove({ version: served.version });
        }
        entry.resolveClosed();
      }
    })();
  }
}

/** Runs `answer` on the version current now (or the one named), which finishes the request even if another version replaces it meanwhile. */
export async function answerOn<T>(set: VersionSet, request: FastifyRequest, version: string | undefined, answer: (answerer: Answerer) => Promise<T>): Promise<T> {
  const lease = set.acquire(version);
  labelVersion(request, lease.served.version);
  try {
    return await answer(lease.served.answerer);
  } finally {
    lease.release();
  }
}
