import type { EngineFactory } from '@esm2/core';
import { onnxEngineFactory } from '@esm2/backend-onnx';
import { availableParallelism } from 'node:os';
import { isEpochTrainerFactory, type EpochTrainerFactory } from './loop.js';
import type { TorchBackendOptions } from './torch-options.js';

/**
 * The training engines the trainer can run, by `--backend` name. This is
 * the only place that names a backend: the loop, checkpoints and metrics
 * see an EngineFactory (a step engine the loop drives batch by batch) or
 * an EpochTrainerFactory (a backend training whole epochs out of process,
 * whose `scoring` engine validates them). A new engine registers here and
 * nowhere else.
 *
 * `tfjs` and `torch` live in `@esm2/backend-tfjs` and `@esm2/backend-torch`,
 * optional peer dependencies of the published trainer: they are imported
 * only when asked for. torch trains under torchrun and is scored by the
 * onnx engine.
 */
const LOADERS = {
  onnx: (options: BackendOptions) => Promise.resolve(onnxEngineFactory(options)),
  tfjs: () => loadOptional('@esm2/backend-tfjs', async () => (await import('@esm2/backend-tfjs')).tfjsEngineFactory()),
  torch: (options: BackendOptions) => loadOptional('@esm2/backend-torch', async () => (await import('./torch-engine.js')).torchTrainerFactory(options.torch ?? {}, onnxEngineFactory(options))),
} satisfies Record<string, (options: BackendOptions) => Promise<EngineFactory | EpochTrainerFactory>>;

/**
 * Engine settings the trainer's flags give: each backend's factory takes
 * those it has — the onnx engine its workers (saved with the run), intra-op
 * threads and spinning; tfjs has none; torch its launch (and the onnx
 * engine's, which scores its epochs).
 */
export interface BackendOptions {
  /** onnx: sessions computing shares of each batch's gradients concurrently (OnnxEngineOptions.workers). */
  workers?: number;
  threads?: number;
  spinning?: boolean;
  /** torch: torchrun's launch and mid-epoch checkpoints. */
  torch?: TorchBackendOptions;
}

/** The default --workers: one onnx session per core. */
export const defaultWorkers = (): number => availableParallelism();

export type BackendName = keyof typeof LOADERS;
export const BACKEND_NAMES = Object.keys(LOADERS) as BackendName[];

/** The ONNX Runtime engine: far faster than tfjs-cpu (docs/performance.md has the bench's figures), parity-tested against it (engine-parity.test.ts). */
export const DEFAULT_BACKEND: BackendName = 'onnx';

/** `name` if it is a backend, else an error listing them (no module is loaded). */
export function backendName(name: string): BackendName {
  if (!(BACKEND_NAMES as string[]).includes(name)) throw new Error(`unknown backend '${name}' (available: ${BACKEND_NAMES.join(', ')})`);
  return name as BackendName;
}

/** What trains with backend `name`: a step engine's factory or an epoch trainer's. */
export async function trainerFactory(name: string, options: BackendOptions = {}): Promise<EngineFactory | EpochTrainerFactory> {
  return LOADERS[backendName(name)](options);
}

/** The engine that steps and scores for backend `name`: an epoch-driven backend's `scoring` engine (torch: onnx). */
export async function engineFactory(name: string, options: BackendOptions = {}): Promise<EngineFactory> {
  const factory = await trainerFactory(name, options);
  return isEpochTrainerFactory(factory) ? factory.scoring : factory;
}

async function loadOptional<T>(pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(pkg)) {
      throw new Error(`backend '${pkg.replace('@esm2/backend-', '')}' needs the optional package ${pkg}: install it beside @esm2/trainer (npm install ${pkg})`);
    }
    throw e;
  }
}
