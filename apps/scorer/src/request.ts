import { isUtf8 } from 'node:buffer';
import type { HostTensor } from '@esm2/core';
import { BadValueError, batchToFeeds } from '@esm2/data';
import type { ScoringModel } from './model.js';

/** A problem with the client's request: answered with `statusCode` and the message, never a crash. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** Keys a request row may carry: source columns, model field names, key and truth columns, labels. */
export function allowedFields(model: ScoringModel): Set<string> {
  const e = model.encoders;
  return new Set([...e.columns(true), ...e.extraColumns(), ...e.schema.fields.map((f) => f.name)]);
}

/**
 * `{"rows": [{field: value, …}, …]}` → the rows, or a RequestError saying
 * exactly what is wrong and where. Unknown keys are refused so a typo'd
 * field name is not silently scored as a missing one; the refusal lists
 * `inputs` (the model's input columns, `model.encoders.columns(false)`),
 * or every allowed key when not given.
 */
export function parseRows(body: unknown, allowed: ReadonlySet<string>, maxRows: number, inputs: readonly string[] = [...allowed].sort()): Record<string, unknown>[] {
  const rows = bodyRows(body, maxRows);
  checkRows(rows, allowed, inputs);
  return rows as Record<string, unknown>[];
}

/** parseRows' first half: the body's shape and its "rows" array, the rows themselves not yet looked at. */
export function bodyRows(body: unknown, maxRows: number): unknown[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('body must be a JSON object {"rows": [...]}');
  const extra = Object.keys(body).filter((k) => k !== 'rows');
  if (extra.length > 0) throw new RequestError(`unknown top-level key(s) ${extra.map((k) => `'${k}'`).join(', ')}; expected only "rows"`);
  const rows = (body as { rows?: unknown }).rows;
  if (rows === undefined) throw new RequestError('missing "rows": expected {"rows": [{field: value, …}, …]}');
  if (!Array.isArray(rows)) throw new RequestError('"rows" must be an array of objects');
  if (rows.length === 0) throw new RequestError('"rows" is empty: send at least one row');
  if (rows.length > maxRows) throw new RequestError(`too many rows: ${rows.length} (at most ${maxRows} per request)`, 413);
  return rows as unknown[];
}

/** parseRows' second half: every row an object of allowed keys. */
export function checkRows(rows: readonly unknown[], allowed: ReadonlySet<string>, inputs: readonly string[]): void {
  for (const [i, row] of rows.entries()) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new RequestError(`row ${i}: expected an object of field values`);
    for (const key of Object.keys(row)) {
      if (!allowed.has(key)) {
        throw new RequestError(`row ${i}: unknown field '${key}'; the model takes ${inputs.join(', ')}`);
      }
    }
  }
}

/**
 * Request body bytes as text, refusing bytes that are not UTF-8 (decoding
 * would turn them into U+FFFD, and a category id so damaged would be
 * scored as an unseen one), naming the offset of the first bad byte.
 */
export function utf8Text(bytes: Uint8Array, what: string): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buffer)) throw new RequestError(`${what} is not valid UTF-8 (first bad byte at offset ${firstBadUtf8Byte(buffer)})`);
  return buffer.toString('utf8');
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
function firstBadUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    // The second byte's range depends on the first (overlongs, surrogates, > U+10FFFF); the rest are 80–BF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/**
 * Encodes rows exactly as training did (OOV for unseen categories). The data
 * layer's bad-value errors (type errors, missing fields, impossible labels)
 * become 400s; anything else the encoders throw is a bug and stays a 500.
 */
export function encodeRows(model: ScoringModel, rows: Record<string, unknown>[]): Record<string, HostTensor> {
  let batch;
  try {
    batch = model.encoders.encodeRows(rows);
  } catch (e) {
    if (e instanceof BadValueError) throw new RequestError(e.message);
    throw e;
  }
  return batchToFeeds(model.graph, batch);
}
