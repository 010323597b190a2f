import { EventEmitter } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readTritonConfig, TRITON_CONFIG_FILE, tritonVersions, type SessionOptions } from '@esm2/backend-onnx';
import { loadScoringModel, type ScoringModel } from './model.js';
import { ScoringPool } from './pool.js';
import { RequestError } from './request.js';
import { Serial } from './serial.js';
import type { RepositoryControl, VersionState } from './service/repository.js';
import type { ServiceLimits } from './service/limits.js';
import { VersionSet, type ServedVersion, type VersionScorer } from './service/versions.js';
import { warmupFeeds } from './warmup.js';

/** What the manager logs through: pino's (and Fastify's) logger shape. */
export interface RepositoryLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface RepositoryOptions {
  /** The model repository: DIR/<name>/config.pbtxt, DIR/<name>/<version>/model.onnx (as `esm2-train export --triton DIR` writes). */
  repository: string;
  /** The model folder to serve (DIR/<name>); default the repository's only one. */
  name?: string;
  limits?: Partial<ServiceLimits>;
  /** Worker threads of the pool the versions share, and their sessions. */
  workers?: number;
  session?: SessionOptions;
  /**
   * Builds a loaded version's scorer, ready to score (default: the version
   * loaded into every worker of the repository's one pool, each having
   * scored once with it). `serve --workers 0` gives each version a session
   * on the HTTP thread (LocalScorer.warm); tests substitute scorers they can hold.
   */
  scorer?: (model: ScoringModel) => Promise<VersionScorer>;
  logger?: RepositoryLogger;
}

/** The result of a load: the version now serving, the one it replaced, and when that one is closed (its requests finished, its sessions released in every worker). */
export interface Switched {
  version: string;
  previous: string | undefined;
  retired: Promise<void>;
}

const silent: RepositoryLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const byNumber = (a: string, b: string) => Number(a) - Number(b);

/** A pool that has loaded the model in every worker and scored once (a model the runtime cannot load fails here), closed again when that fails. */
export async function warmPool(model: ScoringModel, options: { workers?: number; session?: SessionOptions } = {}): Promise<ScoringPool> {
  const pool = new ScoringPool(model.source, { model, ...(options.workers ? { workers: options.workers } : {}), ...(options.session ? { session: options.session } : {}) });
  try {
    await pool.warmUp(model);
  } catch (e) {
    await pool.destroy();
    throw e;
  }
  return pool;
}

/**
 * A Triton model repository served version by version (`esm2-score serve
 * --model-repository DIR`): the versions share one worker pool, started
 * once; each version is loaded into its workers (its own sessions, no new
 * thread), verified (the ONNX file's checksum, the config, one warm-up run
 * whose scores must be probabilities) and warmed beside the version serving, then
 * switched to at once (VersionSet); the version it replaces finishes the
 * requests it took and is then closed. A version that fails any of that is
 * refused and logged, and the version serving keeps serving.
 *
 * Which version serves: at start, the highest that loads. `poll()` loads
 * the highest version directory that appeared since the last look (or a
 * refused one whose files changed) when it is above the one serving and was
 * not unloaded by request. `load(v)` serves v (pinning it, even below the
 * highest), `load()` the highest not unloaded by request; `unload(v)` of the
 * version serving rolls back to the newest other version that loads, and
 * keeps v from being loaded again except by a load naming it; `unload()`
 * serves nothing until a load. Events: 'serving' (Switched), 'refused'
 * ({version, error}), 'closed' (version), 'unloaded' (version).
 */
export class ModelRepository extends EventEmitter implements RepositoryControl {
  readonly versions: VersionSet;
  /** DIR/<name>, the model folder. */
  readonly dir: string;
  readonly #options: RepositoryOptions;
  readonly #log: RepositoryLogger;
  /** Versions unloaded by request: loaded again only by a load naming them. */
  readonly #held = new Set<string>();
  /** Versions refused, why, and their files then (a poll tries one again once they change). */
  readonly #refused = new Map<string, { reason: string; stamp: string }>();
  /** Version directories seen by a scan: a poll looks at the others. */
  readonly #seen = new Set<string>();
  /** Why a version that served is no longer loaded. */
  readonly #gone = new Map<string, string>();
  #loading: string | undefined;
  /** Unloaded as a whole (unload with no version): polling loads nothing until a load. */
  #unloaded = false;
  readonly #queue = new Serial();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The worker pool the versions share (none when `scorer` builds their scorers). */
  readonly #pool: ScoringPool | undefined;

  private constructor(
    readonly name: string,
    dir: string,
    options: RepositoryOptions,
  ) {
    super();
    this.dir = dir;
    this.#options = options;
    this.#log = options.logger ?? silent;
    this.versions = new VersionSet(name, options.limits);
    this.versions.onCloseError = (version, error) => this.#log.error({ version, err: error }, `closing version ${version} failed`);
    this.#pool = options.scorer ? undefined : new ScoringPool(undefined, { ...(options.workers ? { workers: options.workers } : {}), ...(options.session ? { session: options.session } : {}) });
  }

  /**
   * Finds the model folder in `repository` and serves its highest version
   * that loads (versions above it that do not are refused and logged).
   * Throws, naming the paths, when the folder cannot be read or no version loads.
   */
  static async open(options: RepositoryOptions): Promise<ModelRepository> {
    const repository = resolve(options.repository);
    const s = await stat(repository).catch(() => undefined);
    if (!s?.isDirectory()) throw new Error(`--model-repository ${options.repository}: ${s ? 'not a directory' : 'no such directory'}`);
    let folder = options.name;
    if (folder === undefined) {
      const entries = await readdir(repository, { withFileTypes: true });
      const models: string[] = [];
      for (const e of entries) if (e.isDirectory() && (await stat(join(repository, e.name, TRITON_CONFIG_FILE)).catch(() => undefined))?.isFile()) models.push(e.name);
      if (models.length === 0) throw new Error(`--model-repository ${repository}: no model folder (DIR/<name>/${TRITON_CONFIG_FILE}) in it; 'esm2-train export RUN --triton DIR' writes one`);
      if (models.length > 1) throw new Error(`--model-repository ${repository} holds ${models.length} models (${models.sort().join(', ')}); choose one with --model-name`);
      folder = models[0]!;
    } else if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(folder)) {
      throw new Error(`--model-name ${JSON.stringify(folder)}: not a model folder name`);
    }
    const dir = join(repository, folder);
    const config = await readConfig(dir);
    const versions = await scanVersions(dir);
    if (versions.length === 0) throw new Error(`${dir}: a Triton model folder with no version directory (expected ${join(dir, '1', config.file)})`);
    const manager = new ModelRepository(config.name, dir, options);
    for (const v of versions) manager.#seen.add(v);
    try {
      await manager.#loadNewest(versions.slice().reverse());
    } catch (e) {
      await manager.close(true);
      throw new Error(`${dir}: no version could be served: ${(e as Error).message}`);
    }
    return manager;
  }

  /** The worker pool the versions share (undefined when the `scorer` option builds their scorers). */
  get pool(): ScoringPool | undefined {
    return this.#pool;
  }

  /** The version serving now (undefined after the model was unloaded). */
  get serving(): string | undefined {
    return this.versions.current?.version;
  }

  /** Polls the model folder every `seconds` seconds (0: never); the first poll is `seconds` from now. */
  startPolling(seconds: number): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (seconds <= 0) return;
    let polling = false;
    this.#timer = setInterval(() => {
      if (polling) return; // a slow load is not stacked behind itself
      polling = true;
      this.poll()
        .catch((e: Error) => this.#log.error({ err: e }, `polling ${this.dir} failed`))
        .finally(() => (polling = false));
    }, seconds * 1000);
    this.#timer.unref();
  }

  /**
   * One look at the model folder: loads the highest new version (a version
   * directory not seen before, or a refused one whose files changed) above
   * the one serving and not unloaded by request, and switches to it; a
   * refused one is logged and the next lower new one tried. Resolves with
   * the switch, or undefined when nothing changed.
   */
  poll(): Promise<Switched | undefined> {
    return this.#serial(async () => {
      const onDisk = await this.#scan();
      const fresh: string[] = [];
      for (const v of onDisk) {
        const refused = this.#refused.get(v);
        if (!this.#seen.has(v) || (refused && refused.stamp !== (await this.#stamp(v)))) fresh.push(v);
        this.#seen.add(v);
      }
      if (this.#unloaded) return undefined;
      const serving = this.serving;
      const candidates = fresh.filter((v) => !this.#held.has(v) && (serving === undefined || Number(v) > Number(serving))).sort(byNumber).reverse();
      for (const v of candidates) {
        try {
          return await this.#switchTo(v, 'poll');
        } catch {
          // Refused and logged by #switchTo: the next lower new version, if any, is tried.
        }
      }
      return undefined;
    });
  }

  /**
   * `load(v)`: serves version v (unloaded-by-request or not, above or
   * below the one serving). `load()`: serves the highest version not
   * unloaded by request (with nothing serving, the highest that loads).
   * A version that fails is refused (RequestError 400) and the one serving
   * keeps serving.
   */
  load(version?: string): Promise<Switched | undefined> {
    return this.#serial(async () => {
      const onDisk = await this.#scan();
      for (const v of onDisk) this.#seen.add(v);
      this.#unloaded = false;
      if (version !== undefined) {
        if (!onDisk.includes(version)) throw new RequestError(`model '${this.name}' has no version ${version}: no directory ${join(this.dir, version)}`, 404);
        this.#held.delete(version);
        if (this.serving === version) return undefined;
        return this.#switchTo(version, 'load', true);
      }
      const candidates = onDisk.filter((v) => !this.#held.has(v)).reverse();
      if (candidates.length === 0) {
        throw new RequestError(`model '${this.name}': every version was unloaded by request (${[...this.#held].sort(byNumber).join(', ')}); name one to load it again`, 409);
      }
      if (this.serving === candidates[0]) return undefined;
      if (this.serving !== undefined) return this.#switchTo(candidates[0]!, 'load', true);
      return this.#loadNewest(candidates, true);
    });
  }

  /**
   * `unload(v)`: v is not loaded again except by a load naming it; when v
   * is serving, the newest other version that loads (not unloaded by
   * request) replaces it — a rollback — and when none does, v keeps serving
   * (RequestError 409). `unload()`: nothing serves (requests are answered
   * 503) until a load; polling loads nothing meanwhile.
   */
  unload(version?: string): Promise<Switched | undefined> {
    return this.#serial(async () => {
      if (version === undefined) {
        this.#unloaded = true;
        const previous = this.serving;
        const { retired } = this.versions.switchTo(undefined, `unloaded by request (POST /v2/repository/models/${this.name}/load serves it again)`);
        if (previous !== undefined) this.#retire(previous, 'unloaded by request', retired);
        this.#log.info({ model: this.name, version: previous }, `model ${this.name} unloaded${previous ? ` (version ${previous} was serving)` : ''}`);
        return undefined;
      }
      const onDisk = await this.#scan();
      if (!onDisk.includes(version) && this.serving !== version && !this.versions.retiring.some((s) => s.version === version)) {
        throw new RequestError(`model '${this.name}' has no version ${version}: no directory ${join(this.dir, version)}`, 404);
      }
      this.#held.add(version);
      if (this.serving !== version) {
        this.#log.info({ model: this.name, version }, `version ${version} unloaded by request (it was not serving)`);
        return undefined;
      }
      const fallbacks = onDisk.filter((v) => v !== version && !this.#held.has(v)).reverse();
      const reasons: string[] = [];
      for (const v of fallbacks) {
        try {
          const switched = await this.#switchTo(v, `rollback from ${version}`, true);
          this.#gone.set(version, 'unloaded by request');
          return switched;
        } catch (e) {
          reasons.push(`${v}: ${(e as Error).message}`);
        }
      }
      this.#held.delete(version);
      throw new RequestError(
        `cannot unload version ${version} of '${this.name}': ${reasons.length === 0 ? 'no other version to fall back to' : `no other version loads (${reasons.join('; ')})`}; it keeps serving (an unload with no version stops serving the model)`,
        409,
      );
    });
  }

  /** Every version on disk or loaded, lowest first, with its state (Triton's repository index); not queued behind a load, so a version loading shows as LOADING. */
  async index(): Promise<VersionState[]> {
    return this.#states(await this.#scan().catch(() => []));
  }

  /** Stops polling and closes every version (`clean`: their queued work finishes first). */
  async close(clean = true): Promise<void> {
    this.#closed = true;
    this.startPolling(0);
    await this.#queue.idle();
    await this.versions.close(clean);
    await (clean ? this.#pool?.close() : this.#pool?.destroy());
  }

  #states(onDisk: string[]): VersionState[] {
    const serving = this.serving;
    const retiring = new Set(this.versions.retiring.map((s) => s.version));
    const all = new Set([...onDisk, ...retiring, ...this.#refused.keys(), ...this.#held, ...(serving ? [serving] : []), ...(this.#loading ? [this.#loading] : [])]);
    return [...all].sort(byNumber).map((version): VersionState => {
      const at = (state: VersionState['state'], reason = ''): VersionState => ({ name: this.name, version, state, reason });
      if (version === serving) return at('READY');
      if (version === this.#loading) return at('LOADING');
      if (retiring.has(version)) return at('UNLOADING', `${this.#gone.get(version) ?? 'replaced'}; finishing the requests it took`);
      if (this.#held.has(version)) return at('UNAVAILABLE', 'unloaded by request; a load naming this version loads it again');
      const refused = this.#refused.get(version);
      if (refused) return at('UNAVAILABLE', `refused: ${refused.reason}`);
      if (!onDisk.includes(version)) return at('UNAVAILABLE', 'its directory is gone');
      return at('UNAVAILABLE', this.#gone.get(version) ?? 'not loaded');
    });
  }

  /** Tries `candidates` in order (highest first) until one serves; the error lists why each was refused. */
  async #loadNewest(candidates: string[], asked = false): Promise<Switched> {
    const reasons: string[] = [];
    for (const v of candidates) {
      try {
        return await this.#switchTo(v, asked ? 'load' : 'start', asked);
      } catch (e) {
        reasons.push(`version ${v}: ${(e as Error).message}`);
      }
    }
    throw new RequestError(reasons.length === 0 ? 'no version to load' : reasons.join('; '), 400);
  }

  /** Loads, verifies and warms `version`, then serves it; refused (logged, recorded, RequestError 400) if any of that fails. */
  async #switchTo(version: string, why: string, asked = false): Promise<Switched> {
    if (this.#closed) throw new Error('the model repository is closed');
    this.#loading = version;
    let served: ServedVersion | undefined;
    try {
      try {
        served = await this.#prepare(version);
      } catch (e) {
        const reason = (e as Error).message;
        this.#refused.set(version, { reason, stamp: await this.#stamp(version) });
        this.versions.metrics.loads.inc({ version, result: 'refused' });
        const serving = this.serving;
        this.#log.error({ model: this.name, version, err: e }, `version ${version} refused (${why}): ${reason}; ${serving === undefined ? 'no version is serving' : `version ${serving} keeps serving`}`);
        this.emit('refused', { version, error: e });
        throw new RequestError(`version ${version} of '${this.name}' was refused: ${reason}${serving === undefined ? '' : `; version ${serving} keeps serving`}`, asked ? 400 : 500);
      }
    } finally {
      this.#loading = undefined;
    }
    this.#refused.delete(version);
    this.#gone.delete(version);
    this.versions.metrics.loads.inc({ version, result: 'loaded' });
    const { previous, retired } = this.versions.switchTo(served);
    if (previous !== undefined) this.#retire(previous, `replaced by version ${version}`, retired);
    this.#log.info({ model: this.name, version, previous }, `version ${version} serving (${why})${previous === undefined ? '' : `, replacing version ${previous}`}`);
    const switched: Switched = { version, previous, retired };
    this.emit('serving', switched);
    return switched;
  }

  #retire(version: string, reason: string, retired: Promise<void>): void {
    this.#gone.set(version, reason);
    void retired.then(() => {
      this.#log.info({ model: this.name, version }, `version ${version} closed (${reason})`);
      this.emit('closed', version);
    });
  }

  /** Reads version `version`: checksum-verified model, loaded and warmed in every worker, one warm-up run checked. Nothing is served yet. */
  async #prepare(version: string): Promise<ServedVersion> {
    const config = await readConfig(this.dir);
    if (config.name !== this.name) {
      throw new Error(`${join(this.dir, TRITON_CONFIG_FILE)} now names the model '${config.name}'; this server serves '${this.name}' (restart it to serve another name)`);
    }
    const file = join(this.dir, version, config.file);
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new Error(`${file}: no such file`);
    const loaded = await loadScoringModel(file, { onWarning: (message) => this.#log.warn({ model: this.name, version }, message) });
    const model: ScoringModel = { ...loaded, name: this.name, version };
    const scorer = await (this.#options.scorer ?? ((m: ScoringModel) => this.#pool!.loadVersion(m)))(model);
    const served = this.versions.prepare(model, scorer);
    try {
      await checkWarmUp(model, scorer);
    } catch (e) {
      await this.versions.discard(served);
      throw e;
    }
    const serving = this.versions.current;
    if (serving && JSON.stringify([serving.metadata.inputs, serving.metadata.outputs]) !== JSON.stringify([served.metadata.inputs, served.metadata.outputs])) {
      this.#log.warn({ model: this.name, version, previous: serving.version }, `version ${version} takes other inputs or gives other outputs than version ${serving.version}: clients must follow (GET /v2/models/${this.name})`);
    }
    return served;
  }

  #scan(): Promise<string[]> {
    return scanVersions(this.dir);
  }

  /** The files of a version directory as they are now (names, sizes, modification times): a refused version is tried again once this changes. */
  async #stamp(version: string): Promise<string> {
    const dir = join(this.dir, version);
    const names = await readdir(dir).catch(() => [] as string[]);
    const parts = await Promise.all(names.sort().map(async (n) => {
      const s = await stat(join(dir, n)).catch(() => undefined);
      return `${n}:${s?.size}:${s?.mtimeMs}`;
    }));
    return parts.join('|');
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    return this.#queue.run(run);
  }
}

/** Version directories in a model folder as Triton reads them (backend-onnx's tritonVersions: `0`, `01` are not versions), lowest first. */
async function scanVersions(dir: string): Promise<string[]> {
  return (await tritonVersions(dir)).reverse().map(String);
}

/** config.pbtxt of a model folder (backend-onnx's readTritonConfig: an ONNX Runtime model, its file name): its name, and the file each version directory holds. */
async function readConfig(dir: string): Promise<{ name: string; file: string }> {
  const path = join(dir, TRITON_CONFIG_FILE);
  const read = await readTritonConfig(dir).catch((e: Error) => {
    throw e.message.startsWith(path) ? e : new Error(`${path}: ${e.message}`);
  });
  if (!read) throw new Error(`${path}: no such file; a Triton model folder holds config.pbtxt ('esm2-train export --model RUN --triton DIR' writes one)`);
  return { name: read.config.name, file: read.file };
}

/** The verify step: one all-out-of-vocabulary row scored by the new version's own scorer must give a probability for every prediction. */
async function checkWarmUp(model: ScoringModel, scorer: VersionScorer): Promise<void> {
  const scores = await scorer.score(warmupFeeds(model.graph), model.predictions);
  for (const name of model.predictions) {
    const values = scores[name];
    if (!values || values.length !== 1) throw new Error(`warm-up: output '${name}' is missing`);
    const v = values[0]!;
    if (!(v >= 0 && v <= 1)) throw new Error(`warm-up: output '${name}' is ${v}, not a probability (broken weights?)`);
  }
}
