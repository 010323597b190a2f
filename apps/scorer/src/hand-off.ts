/**
 * Bytes crossing between the HTTP thread and the worker threads move
 * (transferred: the sender's view is detached) instead of being copied by
 * the structured clone. Only a whole ArrayBuffer can move: a view of part
 * of a larger one (Node's pooled small Buffers, a slab the sender still
 * uses) is copied into a buffer of its own first, or left to the clone.
 */

/** Whether `view` spans all of a (non-shared) ArrayBuffer, which can then move without taking anything else along. */
export function spansBuffer(view: Uint8Array): view is Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

/**
 * `view` itself when it spans a buffer of its own not already in `transfer`,
 * else a copy in a fresh buffer; that buffer is added to `transfer`.
 */
export function movable(view: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const own = spansBuffer(view) && !transfer.includes(view.buffer) ? view : new Uint8Array(view);
  transfer.push(own.buffer);
  return own;
}
