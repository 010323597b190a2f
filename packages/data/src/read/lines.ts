import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import type { FileKind } from './detect.js';

/**
 * The file's physical lines, 1-based, for the few jobs that need them: the
 * header, a sample for type inference, and mapping a bad record back to its
 * line. Bulk reading goes through DuckDB instead.
 */
export async function* readLines(file: string, kind: FileKind): AsyncGenerator<{ line: number; text: string }> {
  if (kind.compression === 'zstd') {
    throw new DataError({ file }, 'line-level access to zstd files needs Node >= 22; decompress the file or use gzip');
  }
  const raw = createReadStream(file);
  const input = kind.compression === 'gzip' ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      yield { line, text };
    }
  } finally {
    rl.close();
    raw.destroy();
  }
}

/** Splits one CSV line, honouring double quotes (enough for headers and samples). */
export function splitCsvLine(text: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === delimiter) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** DuckDB skips blank lines, so record numbering must too. */
export function isBlank(text: string): boolean {
  return text.trim() === '';
}
