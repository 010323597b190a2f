import type { EngineFactory } from '@esm2/core';
import { onnxEngineFactory } from '@esm2/backend-onnx';
import { availableParallelism } from 'node:os';

/**
 * The training engines the trainer can run, by `--backend` name. This is
 * the only place that names a backend: the loop, checkpoints and metrics
 * see an EngineFactory. A new engine registers here and nowhere else.
 *
 * `tfjs` lives in `@esm2/backend-tfjs`, an optional peer dependency of the
 * published trainer: it is imported only when asked for.
 */
const LOADERS = {
  onnx: (options: BackendOptions) => Promise.resolve(onnxEngineFactory(options)),
  tfjs: () => loadOptional('@esm2/backend-tfjs', async () => (await import('@esm2/backend-tfjs')).tfjsEngineFactory()),
} satisfies Record<string, (options: BackendOptions) => Promise<EngineFactory>>;

/**
 * Engine settings the trainer's flags give: each backend's factory takes
 * those it has — the onnx engine its workers (saved with the run), intra-op
 * threads and spinning; tfjs has none.
 */
export interface BackendOptions {
  /** onnx: sessions computing shares of each batch's gradients concurrently (OnnxEngineOptions.workers). */
  workers?: number;
  threads?: number;
  spinning?: boolean;
}

/** The default --workers: one onnx session per core. */
export const defaultWorkers = (): number => availableParallelism();

export type BackendName = keyof typeof LOADERS;
export const BACKEND_NAMES = Object.keys(LOADERS) as BackendName[];

/** The ONNX Runtime engine: ~100× tfjs-cpu, parity-tested against it (engine-parity.test.ts). */
export const DEFAULT_BACKEND: BackendName = 'onnx';

/** `name` if it is a backend, else an error listing them (no module is loaded). */
export function backendName(name: string): BackendName {
  if (!(BACKEND_NAMES as string[]).includes(name)) throw new Error(`unknown backend '${name}' (available: ${BACKEND_NAMES.join(', ')})`);
  return name as BackendName;
}

export async function engineFactory(name: string, options: BackendOptions = {}): Promise<EngineFactory> {
  return LOADERS[backendName(name)](options);
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
