import * as tf from '@tensorflow/tfjs';
import { sizeOf, type Graph, type GraphInput, type HostTensor } from '@esm2/core';

/** The batch size the feeds agree on, checked against every input with a batch dim. */
export function batchSizeOf(inputs: readonly GraphInput[], feeds: Record<string, HostTensor>): number {
  let batch: number | undefined;
  let from = '';
  for (const input of inputs) {
    const axis = input.type.shape.indexOf('batch');
    const feed = feeds[input.name];
    if (axis < 0 || !feed) continue;
    const n = feed.shape[axis];
    if (n === undefined) continue; // rank mismatch, reported by checkFeed
    if (batch !== undefined && n !== batch) throw new Error(`input '${input.name}' has batch size ${n}, '${from}' has ${batch}`);
    batch = n;
    from = input.name;
  }
  if (batch === undefined) throw new Error('no batched input was fed');
  return batch;
}

/** Shape and size of one feed against its declaration; a message naming the input when wrong. */
export function checkFeed(input: GraphInput, feed: HostTensor | undefined, batch: number): HostTensor {
  if (!feed) throw new Error(`missing input '${input.name}'`);
  const expected = input.type.shape.map((d) => (d === 'batch' ? batch : d));
  if (feed.shape.length !== expected.length || feed.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`input '${input.name}' has shape [${feed.shape.join(',')}], the graph expects [${expected.join(',')}]`);
  }
  if (feed.data.length !== sizeOf(expected)) throw new Error(`input '${input.name}' has ${feed.data.length} values for shape [${expected.join(',')}]`);
  return feed;
}

/** The fed inputs named in `wanted` as tfjs tensors (i32 stays int32, f32 becomes float32). All are checked before any tensor is made, so a bad feed leaks nothing. */
export function inputTensors(graph: Graph, feeds: Record<string, HostTensor>, batch: number, wanted: ReadonlySet<string>): Map<string, tf.Tensor> {
  const checked = graph.inputs.filter((i) => wanted.has(i.name)).map((input) => ({ input, feed: checkFeed(input, feeds[input.name], batch) }));
  const out = new Map<string, tf.Tensor>();
  for (const { input, feed } of checked) {
    const data =
      input.type.dtype === 'i32'
        ? feed.data instanceof Int32Array ? feed.data : Int32Array.from(feed.data)
        : feed.data instanceof Float32Array ? feed.data : Float32Array.from(feed.data);
    out.set(input.name, tf.tensor(data, feed.shape, input.type.dtype === 'i32' ? 'int32' : 'float32'));
  }
  return out;
}
