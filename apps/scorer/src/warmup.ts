import type { Graph } from '@esm2/core';
import type { Feeds } from './feeds.js';

/** One all-OOV, all-zero row per input: enough to load a session and run it once before traffic arrives. */
export function warmupFeeds(graph: Pick<Graph, 'inputs'>, rows = 1): Feeds {
  const feeds: Feeds = {};
  for (const input of graph.inputs) {
    const shape = input.type.shape.map((d) => (d === 'batch' ? rows : d));
    const size = shape.reduce((n, d) => n * d, 1);
    feeds[input.name] = { shape, data: input.type.dtype === 'i32' ? new Int32Array(size) : new Float32Array(size) };
  }
  return feeds;
}
