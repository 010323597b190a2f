import type { HostTensor } from '@esm2/core';
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Intra-op threads. Default 1: on the ESM2 towers one thread beat two (see bench), and servers run one session per worker. */
  threads?: number;
  /**
   * Whether idle intra-op threads spin waiting for work. Spinning trades CPU
   * for latency and only matters with threads > 1; off by default so an idle
   * service does not burn cores.
   */
  spinning?: boolean;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/**
 * onnxruntime session options from ours: the one place that maps threads and
 * spinning (scoring sessions and the training engine's compiled steps alike).
 * `denormalAsZero` flushes denormals, which training steps produce as Adam
 * moments decay.
 */
export function ortSessionOptions(options: SessionOptions & { denormalAsZero?: boolean }): ort.InferenceSession.SessionOptions {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    logSeverityLevel: 3,
    extra: { session: { ...(options.denormalAsZero ? { set_denormal_as_zero: '1' } : {}), intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
  };
}

/** What a scoring call returns: f32 values with their concrete shapes. */
export type SessionOutputs = Record<string, { shape: number[]; data: Float32Array }>;

/** A string input (a raw-feature model's categories), row-major. */
export interface StringTensor {
  shape: readonly number[];
  data: readonly string[];
}

/**
 * An onnxruntime-node session over an exported model, taking the same host
 * tensors as the core interpreter: ids as Int32Array, passed as they are to
 * an int32 input (exports since int32 ids), widened for an int64 one.
 */
export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputTypes: ReadonlyMap<string, string>,
  ) {}

  /** Loads from a file path (external data resolves next to it) or from bytes. */
  static async load(model: string | Uint8Array, options: SessionOptions = {}): Promise<OnnxSession> {
    const sessionOptions = ortSessionOptions(options);
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : // The binding takes bytes on an ArrayBuffer only; a SharedArrayBuffer (bytes shared with workers) is copied.
          await ort.InferenceSession.create(model.buffer instanceof ArrayBuffer ? model : new Uint8Array(model), sessionOptions);
    const inputTypes = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'non-tensor']));
    return new OnnxSession(session, inputTypes);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; feeds must cover every input, ids must be integers, string inputs take string arrays. */
  async run(feeds: Record<string, HostTensor | StringTensor>, outputs: readonly string[] = this.outputNames): Promise<SessionOutputs> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, type] of this.inputTypes) {
      const feed = feeds[name];
      if (!feed) throw new Error(`missing input '${name}'`);
      ortFeeds[name] = toOrtTensor(name, type, feed);
    }
    const result = await this.session.run(ortFeeds, [...outputs]);
    const out: SessionOutputs = {};
    for (const name of outputs) {
      const t = result[name]!;
      if (t.type !== 'float32') throw new Error(`output '${name}' is ${t.type}, expected float32`);
      out[name] = { shape: [...t.dims], data: t.data as Float32Array };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A host tensor as onnxruntime takes an input of `type`: ids checked to be
 * integers (an Int32Array holds nothing else) and given to an int32 input
 * as they are (an Int32Array without a copy), widened to an int64 one.
 */
export function toOrtTensor(name: string, type: string, feed: HostTensor | StringTensor): ort.Tensor {
  const dims = [...feed.shape];
  const data = feed.data;
  if (type === 'string') {
    if (!isStrings(data)) throw new Error(`input '${name}' takes strings, got ${data.constructor.name}`);
    return new ort.Tensor('string', [...data], dims);
  }
  if (isStrings(data)) throw new Error(`input '${name}' has type ${type}, got strings`);
  if (type === 'int32') {
    // As it is, unless it lives in shared memory (which the binding refuses): then copied.
    if (data instanceof Int32Array) return new ort.Tensor('int32', data.buffer instanceof SharedArrayBuffer ? data.slice() : data, dims);
    const ids = new Int32Array(data.length);
    for (let i = 0; i < ids.length; i++) {
      const v = data[i]!;
      if (!Number.isInteger(v)) throw new Error(`input '${name}' holds ids, got ${v} at element ${i}`);
      if ((v | 0) !== v) throw new Error(`input '${name}' holds int32 ids, got ${v} at element ${i}`);
      ids[i] = v;
    }
    return new ort.Tensor('int32', ids, dims);
  }
  if (type === 'int64') {
    const ids = new BigInt64Array(data.length);
    for (let i = 0; i < ids.length; i++) {
      const v = data[i]!;
      if (!Number.isInteger(v)) throw new Error(`input '${name}' holds ids, got ${v} at element ${i}`);
      ids[i] = BigInt(v);
    }
    return new ort.Tensor('int64', ids, dims);
  }
  if (type === 'float32') {
    return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
  }
  throw new Error(`input '${name}' has type ${type}, which this session cannot feed`);
}

const isStrings = (data: HostTensor['data'] | readonly string[]): data is readonly string[] => Array.isArray(data);
