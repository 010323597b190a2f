import { readFile } from 'node:fs/promises';

/**
 * A file's bytes, or its text when an encoding is given; undefined when
 * there is no file at `path` (an optional input). Any other failure is
 * thrown as it came.
 */
export async function readIfExists(path: string): Promise<Buffer | undefined>;
export async function readIfExists(path: string, encoding: BufferEncoding): Promise<string | undefined>;
export async function readIfExists(path: string, encoding?: BufferEncoding): Promise<Buffer | string | undefined> {
  try {
    return encoding ? await readFile(path, encoding) : await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
