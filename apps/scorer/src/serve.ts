import type { SessionOptions } from '@esm2/backend-onnx';
import type { FastifyBaseLogger } from 'fastify';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import type { ScoringPool } from './pool.js';
import { ModelRepository, warmPool } from './repository.js';
import { buildService, type FeedScorer, type Service, type ServiceLimits } from './server.js';

export interface StartOptions {
  /** Artifact directory or .onnx file, or an already loaded model: served as one version for the life of the service. */
  model?: string | ScoringModel;
  /** Or a Triton model repository, served version by version (ModelRepository). */
  repository?: {
    dir: string;
    /** The model folder (DIR/<name>); default the only one. */
    name?: string;
    /** Look for a new version every this many seconds; 0 or absent: never (load it with POST /v2/repository/models/{name}/load). */
    pollSeconds?: number;
  };
  port: number;
  host?: string;
  /** Worker threads, one session each (default: cores, at most 2); 0: one session scoring on the HTTP thread (LocalScorer). */
  workers?: number;
  session?: SessionOptions;
  limits?: Partial<ServiceLimits>;
  logger?: FastifyBaseLogger | boolean;
}

export interface RunningService {
  url: string;
  service: Service;
  /** The worker pool of a --model service (a repository's versions share the repository's pool; none with workers 0). */
  pool?: ScoringPool;
  /** The model repository, when serving one. */
  repository?: ModelRepository;
  /** The model version serving now. */
  readonly model: ScoringModel;
  /** Worker threads of the version serving now (0: it scores on the HTTP thread). */
  readonly workers: number;
  /**
   * Graceful but bounded: refuses new requests, finishes in-flight ones,
   * then stops the workers. Connections still open after the shutdown
   * timeout are destroyed, and the workers are then terminated rather than
   * waited for.
   */
  close(): Promise<void>;
}

/** Loads the model (or a repository's newest version), starts the worker pool (each worker scores once before we listen), and listens. */
export async function startService(options: StartOptions): Promise<RunningService> {
  const { repository } = options;
  if ((options.model === undefined) === (repository === undefined)) throw new Error('give either a model or a model repository');
  const poolOptions = { ...(options.workers ? { workers: options.workers } : {}), ...(options.session ? { session: options.session } : {}) };
  // workers 0: no pool; each version's one session scores on the HTTP thread (parse, encode, score, answer there too).
  const onThread = options.workers === 0;
  let service: Service;
  let pool: ScoringPool | undefined;
  let manager: ModelRepository | undefined;
  let closeScoring: (clean: boolean) => Promise<void>;
  if (repository) {
    const logger = typeof options.logger === 'object' ? options.logger : undefined;
    manager = await ModelRepository.open({
      repository: repository.dir,
      ...(repository.name ? { name: repository.name } : {}),
      ...poolOptions,
      ...(onThread ? { scorer: (model: ScoringModel) => LocalScorer.warm(model, options.session) } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(logger ? { logger } : {}),
    });
    service = buildService({ versions: manager.versions, repository: manager, ...(options.logger !== undefined ? { logger: options.logger } : {}) });
    closeScoring = (clean) => manager!.close(clean);
  } else {
    const model = typeof options.model === 'string' ? await loadScoringModel(options.model) : options.model!;
    // Given the model, the workers also parse, validate and encode request bodies, off the HTTP thread.
    // Warming up surfaces a model the runtime cannot load now, not on the first request.
    let scorer: FeedScorer;
    if (onThread) {
      const local = await LocalScorer.warm(model, options.session);
      scorer = local;
      closeScoring = () => local.close();
    } else {
      const warm = await warmPool(model, poolOptions).catch((e: Error) => Promise.reject(new Error(`cannot score with ${model.origin}: ${e.message}`)));
      pool = warm;
      scorer = warm;
      closeScoring = (clean) => (clean ? warm.close() : warm.destroy());
    }
    service = buildService({ model, scorer, ...(options.limits ? { limits: options.limits } : {}), ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  }
  let url: string;
  try {
    url = await service.app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  } catch (e) {
    await closeScoring(true);
    throw e;
  }
  // Polling starts once the service listens: a version found before would have nothing to serve it.
  if (manager && repository?.pollSeconds) manager.startPolling(repository.pollSeconds);
  const { versions } = service;
  // The version last seen serving, for when none is (after an unload): only that one is kept from being freed.
  let last = versions.current!;
  manager?.on('serving', () => (last = versions.current ?? last));
  const serving = () => versions.current ?? last;
  let closing: Promise<void> | undefined;
  return {
    url,
    service,
    ...(pool ? { pool } : {}),
    ...(manager ? { repository: manager } : {}),
    get model() {
      return serving().model;
    },
    get workers() {
      return serving().workers;
    },
    close() {
      closing ??= (async () => {
        const clean = await service.close();
        await closeScoring(clean);
      })();
      return closing;
    },
  };
}
