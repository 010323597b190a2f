import type { Graph, HostTensor } from '@esm2/core';

/**
 * A fixed-size slice of encoded rows in typed arrays: what every backend
 * consumes. Multi-valued features are row-major [size * maxLength], padded
 * with -1.
 */
export interface Batch {
  size: number;
  features: Record<string, Int32Array | Float32Array>;
  labels: { click: Float32Array; daction: Float32Array; buy: Float32Array };
  /** Per-dataset user numbers for GAUC (distinct users get distinct numbers, unseen ones included). */
  userIds?: Int32Array;
  /** True probabilities, when the data is synthetic and carries them. */
  truth?: Partial<Record<'pctr' | 'pctavr' | 'pcvr' | 'pctcvr', Float32Array>>;
  /** Raw values of the chosen key columns, to write scores next to ids. */
  keys?: Record<string, (string | number)[]>;
}

/** Feeds for exactly the graph's inputs; labels only when the graph declares them (training graphs). */
export function batchToFeeds(graph: Pick<Graph, 'name' | 'inputs'>, batch: Batch): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const input of graph.inputs) {
    const data =
      input.role === 'label' ? batch.labels[input.name as keyof Batch['labels']] : batch.features[input.name];
    if (data === undefined) {
      throw new Error(`batch has no ${input.role} '${input.name}' needed by graph '${graph.name}'`);
    }
    const want = input.type.dtype === 'i32' ? Int32Array : Float32Array;
    if (!(data instanceof want)) {
      throw new Error(`${input.role} '${input.name}': graph wants ${input.type.dtype}, batch has ${data.constructor.name}`);
    }
    const shape = input.type.shape.map((d) => (d === 'batch' ? batch.size : d));
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new Error(`${input.role} '${input.name}': graph shape [${shape.join(', ')}] needs ${count} values, batch has ${data.length}`);
    }
    feeds[input.name] = { shape, data };
  }
  return feeds;
}
