import { readFile } from 'node:fs/promises';

/** Why an input file could not be read, in words, for an error that names its path. */
export function readFailure(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory; give a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent of it is a file';
    default:
      return (e as Error).message;
  }
}

/**
 * A file the user named as an input (a config), as text: a missing file, a
 * directory or an unreadable one is an Error naming `path`
 * (`conf.yaml: it is a directory; give a file`), where Node names neither.
 */
export async function readInputFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: ${readFailure(e)}`);
  }
}

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
