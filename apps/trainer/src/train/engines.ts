import type { EngineFactory } from '@esm2/core';
import { SPECIFICATION_VERSION, type EpochTrainerFactory } from '@esm2/core/backend';
import { backend as onnx } from '@esm2/backend-onnx';
import { availableParallelism } from 'node:os';
import { isEpochTrainerFactory } from './loop.js';
import type { TorchBackendOptions } from './torch-options.js';

/**
 * What the registry needs of a backend's descriptor (@esm2/core/backend's
 * BackendDescriptor): its `create` must take the options the trainer's
 * flags give (BackendOptions).
 */
export interface Descriptor {
  readonly specificationVersion: string;
  readonly name: string;
  readonly kind: 'steps' | 'epochs';
  create(options: BackendOptions): EngineFactory | EpochTrainerFactory;
}

/** A backend the trainer lists: its name, and its descriptor — in `package`, an optional peer imported only when asked for. */
export interface Listed {
  readonly name: string;
  readonly package?: string;
  load(): Promise<Descriptor>;
}

/**
 * The training backends the trainer can run, by `--backend` name: each a
 * package exporting a BackendDescriptor (@esm2/core/backend; writing one:
 * docs/backends.md). This is the only place that names a backend: the loop,
 * checkpoints and metrics see the EngineFactory its descriptor makes (a step
 * engine the loop drives batch by batch) or an EpochTrainerFactory (a
 * backend training whole epochs out of process, whose `scoring` engine
 * validates them). A new backend registers here and nowhere else.
 *
 * `tfjs` and `torch` live in `@esm2/backend-tfjs` and `@esm2/backend-torch`,
 * optional peer dependencies of the published trainer: they are imported
 * only when asked for. torch trains under torchrun and is scored by the
 * onnx engine.
 */
export const BACKENDS = [
  { name: 'onnx', load: () => Promise.resolve(onnx) },
  { name: 'tfjs', package: '@esm2/backend-tfjs', load: async () => (await import('@esm2/backend-tfjs')).backend },
  { name: 'torch', package: '@esm2/backend-torch', load: async () => (await import('@esm2/backend-torch')).backend },
] as const satisfies readonly Listed[];

/**
 * Engine settings the trainer's flags give: each backend's descriptor takes
 * those it has (its `options`) — the onnx engine its workers (saved with the
 * run), intra-op threads and spinning; tfjs has none; torch its launch (and
 * the onnx engine's, which scores its epochs).
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

export type BackendName = (typeof BACKENDS)[number]['name'];
export const BACKEND_NAMES: BackendName[] = BACKENDS.map((b) => b.name);

/** The ONNX Runtime engine: far faster than tfjs-cpu (docs/performance.md has the bench's figures), parity-tested against it (engine-parity.test.ts). */
export const DEFAULT_BACKEND: BackendName = 'onnx';

/** `name` if it is a backend, else an error listing them (no module is loaded). */
export function backendName(name: string): BackendName {
  return listedBackend(name).name as BackendName;
}

function listedBackend(name: string, backends: readonly Listed[] = BACKENDS): Listed {
  const listed = backends.find((b) => b.name === name);
  if (!listed) throw new Error(`unknown backend '${name}' (available: ${backends.map((b) => b.name).join(', ')})`);
  return listed;
}

/**
 * The descriptor of backend `name` in `backends` (the registry), loaded (an
 * optional package missing: an error saying what to install), checked to be
 * a descriptor of this specification's version and of that name.
 */
export async function backendDescriptor(name: string, backends: readonly Listed[] = BACKENDS): Promise<Descriptor> {
  const listed = listedBackend(name, backends);
  const descriptor = listed.package ? await loadOptional(listed.package, () => listed.load()) : await listed.load();
  const from = listed.package ?? 'the trainer';
  if (descriptor.specificationVersion !== SPECIFICATION_VERSION) {
    throw new Error(`backend '${name}' (${from}) implements backend specification ${descriptor.specificationVersion}; this trainer reads ${SPECIFICATION_VERSION}: install versions of the two that agree`);
  }
  if (descriptor.name !== name) throw new Error(`backend '${name}' (${from}) describes itself as '${descriptor.name}'`);
  return descriptor;
}

/** What trains with backend `name`: a step engine's factory or an epoch trainer's. */
export async function trainerFactory(name: string, options: BackendOptions = {}): Promise<EngineFactory | EpochTrainerFactory> {
  return (await backendDescriptor(name)).create(options);
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
