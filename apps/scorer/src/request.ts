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
 * field name is not silently scored as a missing one.
 */
export function parseRows(body: unknown, allowed: ReadonlySet<string>, maxRows: number): Record<string, unknown>[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('body must be a JSON object {"rows": [...]}');
  const extra = Object.keys(body).filter((k) => k !== 'rows');
  if (extra.length > 0) throw new RequestError(`unknown top-level key(s) ${extra.map((k) => `'${k}'`).join(', ')}; expected only "rows"`);
  const rows = (body as { rows?: unknown }).rows;
  if (rows === undefined) throw new RequestError('missing "rows": expected {"rows": [{field: value, …}, …]}');
  if (!Array.isArray(rows)) throw new RequestError('"rows" must be an array of objects');
  if (rows.length === 0) throw new RequestError('"rows" is empty: send at least one row');
  if (rows.length > maxRows) throw new RequestError(`too many rows: ${rows.length} (at most ${maxRows} per request)`, 413);
  for (const [i, row] of (rows as unknown[]).entries()) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new RequestError(`row ${i}: expected an object of field values`);
    for (const key of Object.keys(row)) {
      if (!allowed.has(key)) {
        throw new RequestError(`row ${i}: unknown field '${key}'; the model takes ${[...allowed].sort().join(', ')}`);
      }
    }
  }
  return rows as Record<string, unknown>[];
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
