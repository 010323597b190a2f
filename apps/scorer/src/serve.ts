import type { SessionOptions } from '@esm2/backend-onnx';
import type { FastifyBaseLogger } from 'fastify';
import { loadScoringModel, type ScoringModel } from './model.js';
import { ScoringPool } from './pool.js';
import { buildService, type Service, type ServiceLimits } from './server.js';

export interface StartOptions {
  /** Artifact directory or .onnx file, or an already loaded model. */
  model: string | ScoringModel;
  port: number;
  host?: string;
  workers?: number;
  session?: SessionOptions;
  limits?: Partial<ServiceLimits>;
  logger?: FastifyBaseLogger | boolean;
}

export interface RunningService {
  url: string;
  service: Service;
  pool: ScoringPool;
  model: ScoringModel;
  /**
   * Graceful but bounded: refuses new requests, finishes in-flight ones,
   * then stops the workers. Connections still open after the shutdown
   * timeout are destroyed, and the workers are then terminated rather than
   * waited for.
   */
  close(): Promise<void>;
}

/** Loads the model, starts the worker pool (each worker scores once before we listen), and listens. */
export async function startService(options: StartOptions): Promise<RunningService> {
  const model = typeof options.model === 'string' ? await loadScoringModel(options.model) : options.model;
  // Given the model, the workers also parse, validate and encode request bodies, off the HTTP thread.
  const pool = new ScoringPool(model.source, { model, ...(options.workers ? { workers: options.workers } : {}), ...(options.session ? { session: options.session } : {}) });
  try {
    // Surfaces a model the runtime cannot load now, not on the first request.
    await pool.warmUp(model);
  } catch (e) {
    await pool.close();
    throw new Error(`cannot score with ${model.origin}: ${(e as Error).message}`);
  }
  const service = buildService({ model, scorer: pool, ...(options.limits ? { limits: options.limits } : {}), ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  const url = await service.app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  let closing: Promise<void> | undefined;
  return {
    url,
    service,
    pool,
    model,
    close() {
      closing ??= (async () => {
        const clean = await service.close();
        await (clean ? pool.close() : pool.destroy());
      })();
      return closing;
    },
  };
}
