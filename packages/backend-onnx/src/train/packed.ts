/** Tensors packed into one buffer, so a message moves one ArrayBuffer instead of one per tensor. */
export interface Packed {
  buffer: ArrayBuffer;
  layout: { name: string; shape: number[]; offset: number; length: number }[];
}

/** One copy of each tensor into a fresh buffer (posting a view would clone its whole buffer). */
export function pack(tensors: { name: string; shape: readonly number[]; data: Float32Array }[]): Packed {
  const data = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  const layout = tensors.map((t) => {
    data.set(t.data, offset);
    const entry = { name: t.name, shape: [...t.shape], offset, length: t.data.length };
    offset += t.data.length;
    return entry;
  });
  return { buffer: data.buffer, layout };
}

/** Views of the packed tensors, by name. */
export function unpack(packed: Packed): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map(packed.layout.map((e) => [e.name, { shape: e.shape, data: new Float32Array(packed.buffer, e.offset * 4, e.length) }]));
}
