import type { HostTensor } from '@esm2/core';

/** Feeds as they cross to a worker: fresh arrays, so their buffers can be transferred. */
export type Feeds = Record<string, { shape: number[]; data: Int32Array | Float32Array }>;

/** Scores per output name, one value per row. */
export type Scores = Record<string, Float32Array>;

/**
 * Stacks several requests' feeds along the batch (first) axis into fresh
 * arrays. Every input of the scoring graph has the batch dim first.
 */
export function concatFeeds(parts: readonly Record<string, HostTensor>[]): Feeds {
  const first = parts[0];
  if (!first) throw new Error('concatFeeds needs at least one part');
  const out: Feeds = {};
  for (const name of Object.keys(first)) {
    const tensors = parts.map((p) => p[name]!);
    const rows = tensors.reduce((n, t) => n + t.shape[0]!, 0);
    const total = tensors.reduce((n, t) => n + t.data.length, 0);
    const data = first[name]!.data instanceof Int32Array ? new Int32Array(total) : new Float32Array(total);
    let offset = 0;
    for (const t of tensors) {
      data.set(t.data, offset);
      offset += t.data.length;
    }
    out[name] = { shape: [rows, ...first[name]!.shape.slice(1)], data };
  }
  return out;
}

/** The rows [start, start + count) of every output. */
export function sliceScores(scores: Scores, start: number, count: number): Scores {
  const out: Scores = {};
  for (const [name, data] of Object.entries(scores)) out[name] = data.subarray(start, start + count);
  return out;
}

/** Per-row objects for JSON: `{pctr, pctavr, pcvr, pctcvr}` (the model's predictions). */
export function scoresToRows(scores: Scores, names: readonly string[], count: number): Record<string, number>[] {
  const rows = new Array<Record<string, number>>(count);
  for (let i = 0; i < count; i++) {
    const row: Record<string, number> = {};
    for (const n of names) row[n] = scores[n]![i]!;
    rows[i] = row;
  }
  return rows;
}

/** A number as JSON.stringify writes it: String(x) when finite (the same shortest round-trip digits), null otherwise. */
function numberJson(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** `JSON.stringify(Array.from(values))`, byte for byte, without the array. */
export function numbersJson(values: Float32Array): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) s += i === 0 ? numberJson(values[i]!) : `,${numberJson(values[i]!)}`;
  return `${s}]`;
}

/**
 * `JSON.stringify(scoresToRows(sliceScores(scores, start, count), names, count))`,
 * byte for byte, without the row objects (POST /v1/score's predictions).
 */
export function scoreRowsJson(scores: Scores, names: readonly string[], count: number, start = 0): string {
  const keys = names.map((n, k) => `${k === 0 ? '{' : ','}${JSON.stringify(n)}:`);
  const columns = names.map((n) => scores[n]!);
  let s = '[';
  for (let i = start; i < start + count; i++) {
    if (i > start) s += ',';
    for (let k = 0; k < keys.length; k++) s += keys[k]! + numberJson(columns[k]![i]!);
    s += names.length === 0 ? '{}' : '}';
  }
  return `${s}]`;
}
