import type { Batch } from '../batch.js';
import type { EncodedBlock } from '../encode/encoders.js';

/**
 * A block's columns as flat "lanes" (typed arrays with a per-row width, plus
 * plain arrays for raw users and keys), so shuffling and batching move rows
 * with one loop whatever the schema.
 */
export interface Layout {
  features: { name: string; width: number; int: boolean }[];
  truth: string[];
  keys: string[];
  users: boolean;
}

export interface Lanes {
  typed: (Int32Array | Float32Array)[];
  widths: number[];
  plain: unknown[][];
}

const LABELS = ['click', 'daction', 'buy'] as const;

export function layoutOf(block: EncodedBlock): Layout {
  return {
    features: Object.entries(block.features).map(([name, a]) => ({
      name,
      width: block.size === 0 ? 1 : a.length / block.size,
      int: a instanceof Int32Array,
    })),
    truth: Object.keys(block.truth ?? {}),
    keys: Object.keys(block.keys ?? {}),
    users: block.rawUsers !== undefined,
  };
}

export function lanesOf(layout: Layout, block: EncodedBlock): Lanes {
  const typed: (Int32Array | Float32Array)[] = [];
  const widths: number[] = [];
  for (const f of layout.features) {
    typed.push(block.features[f.name]!);
    widths.push(f.width);
  }
  for (const l of LABELS) {
    typed.push(block.labels[l]);
    widths.push(1);
  }
  for (const t of layout.truth) {
    typed.push(block.truth![t as keyof NonNullable<Batch['truth']>]!);
    widths.push(1);
  }
  const plain: unknown[][] = layout.keys.map((k) => block.keys![k]!);
  if (layout.users) plain.push(block.rawUsers!);
  return { typed, widths, plain };
}

export function allocLanes(layout: Layout, rows: number): Lanes {
  const typed: (Int32Array | Float32Array)[] = [];
  const widths: number[] = [];
  for (const f of layout.features) {
    typed.push(f.int ? new Int32Array(rows * f.width) : new Float32Array(rows * f.width));
    widths.push(f.width);
  }
  for (let i = 0; i < 3 + layout.truth.length; i++) {
    typed.push(new Float32Array(rows));
    widths.push(1);
  }
  const plain = Array.from({ length: layout.keys.length + (layout.users ? 1 : 0) }, () => new Array<unknown>(rows));
  return { typed, widths, plain };
}

export function copyRow(src: Lanes, i: number, dst: Lanes, j: number): void {
  for (let l = 0; l < src.typed.length; l++) {
    const w = src.widths[l]!;
    const s = src.typed[l]!;
    const d = dst.typed[l]!;
    if (w === 1) d[j] = s[i]!;
    else for (let k = 0; k < w; k++) d[j * w + k] = s[i * w + k]!;
  }
  for (let l = 0; l < src.plain.length; l++) dst.plain[l]![j] = src.plain[l]![i];
}

/** Builds a block of `size` rows out of lanes (trimming them when the block is short). */
export function blockFromLanes(layout: Layout, lanes: Lanes, size: number): EncodedBlock {
  const trim = <T extends Int32Array | Float32Array>(a: T, w: number): T => (a.length === size * w ? a : (a.slice(0, size * w) as T));
  let l = 0;
  const features: Record<string, Int32Array | Float32Array> = {};
  for (const f of layout.features) features[f.name] = trim(lanes.typed[l++]!, f.width);
  const labels = {
    click: trim(lanes.typed[l++] as Float32Array, 1),
    daction: trim(lanes.typed[l++] as Float32Array, 1),
    buy: trim(lanes.typed[l++] as Float32Array, 1),
  };
  const block: EncodedBlock = { size, features, labels };
  if (layout.truth.length > 0) {
    block.truth = {};
    for (const t of layout.truth) block.truth[t as keyof NonNullable<Batch['truth']>] = trim(lanes.typed[l++] as Float32Array, 1);
  }
  let p = 0;
  if (layout.keys.length > 0) {
    block.keys = {};
    for (const k of layout.keys) block.keys[k] = lanes.plain[p++]!.slice(0, size) as (string | number)[];
  }
  if (layout.users) block.rawUsers = lanes.plain[p++]!.slice(0, size);
  return block;
}

/** The block without the given rows (skipped bad rows). */
export function dropRows(block: EncodedBlock, drop: ReadonlySet<number>): EncodedBlock {
  if (drop.size === 0) return block;
  const layout = layoutOf(block);
  const src = lanesOf(layout, block);
  const keep = block.size - drop.size;
  const dst = allocLanes(layout, keep);
  let j = 0;
  for (let i = 0; i < block.size; i++) if (!drop.has(i)) copyRow(src, i, dst, j++);
  return blockFromLanes(layout, dst, keep);
}
