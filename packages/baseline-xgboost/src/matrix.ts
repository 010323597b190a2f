import { open, type FileHandle } from 'node:fs/promises';
import type { FeatureSchema } from '@esm2/core';
import type { Batch } from '@esm2/data';

/** One column of the matrix XGBoost sees: 'c' categorical (native splits on category sets), 'q' numeric. */
export interface GbdtColumn {
  name: string;
  /** The batch feature it comes from, and the slot for multi-valued fields. */
  field: string;
  slot?: number;
  type: 'c' | 'q';
}

/** Ids are sent as float32, exact below 2^24; XGBoost 1.7 refuses larger category values too. */
const MAX_CATEGORY = 2 ** 24;

/**
 * The project's encoded features as XGBoost columns, in schema order: a
 * categorical field is one categorical column (its id; the OOV id 0 is a
 * category like any other), a numeric field one numeric column (already
 * normalised by the encoders), a multi-valued field `maxLength` categorical
 * columns `name#0`, `name#1` (`#` is never in a field name), … (its padded slots; padding -1 is missing).
 */
export function gbdtColumns(schema: FeatureSchema): GbdtColumn[] {
  const columns: GbdtColumn[] = [];
  for (const f of schema.fields) {
    if (f.kind === 'categorical') columns.push({ name: f.name, field: f.name, type: 'c' });
    else if (f.kind === 'numeric') columns.push({ name: f.name, field: f.name, type: 'q' });
    else for (let j = 0; j < f.maxLength; j++) columns.push({ name: `${f.name}#${j}`, field: f.name, slot: j, type: 'c' });
  }
  return columns;
}

/**
 * A batch's features as a row-major float32 block [size × columns], NaN
 * where a value is missing (a multi-valued field's padding, a NaN number).
 * Throws naming the field when the batch does not fit the layout.
 */
export function batchMatrix(columns: readonly GbdtColumn[], batch: Batch): Float32Array {
  const n = batch.size;
  const width = columns.length;
  const out = new Float32Array(n * width);
  const slots = new Map<string, number>();
  for (const c of columns) slots.set(c.field, Math.max(slots.get(c.field) ?? 0, (c.slot ?? 0) + 1));
  for (const [k, c] of columns.entries()) {
    const data = batch.features[c.field];
    if (data === undefined) throw new Error(`batch has no feature '${c.field}' needed by the GBDT model`);
    const stride = c.slot === undefined ? 1 : slots.get(c.field)!;
    if (data.length !== n * stride) {
      throw new Error(`feature '${c.field}': ${data.length} values for ${n} rows, expected ${n * stride}`);
    }
    if (c.type === 'q') {
      if (!(data instanceof Float32Array)) throw new Error(`feature '${c.field}': numeric, expected a Float32Array, got ${data.constructor.name}`);
      for (let i = 0; i < n; i++) out[i * width + k] = data[i]!;
      continue;
    }
    if (!(data instanceof Int32Array)) throw new Error(`feature '${c.field}': categorical, expected an Int32Array of ids, got ${data.constructor.name}`);
    const offset = c.slot ?? 0;
    for (let i = 0; i < n; i++) {
      const id = data[i * stride + offset]!;
      if (id >= MAX_CATEGORY || id < -1) {
        throw new Error(`feature '${c.field}': id ${id} in row ${i} is out of range for XGBoost's categories [0, 2^24)`);
      }
      out[i * width + k] = id === -1 ? NaN : id;
    }
  }
  return out;
}

/** Appends float32 blocks to a file (little-endian, the platform order on every machine Node supports here). */
export class Float32File {
  private position = 0;
  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<Float32File> {
    return new Float32File(await open(path, 'wx'));
  }

  async append(values: Float32Array): Promise<void> {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.byteLength;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
