import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const MAX_WRITE = 2 ** 30;

/**
 * Writes a file so readers see the old content or the new, never a torn
 * one: a temporary sibling is filled, flushed to disk, then renamed over the
 * target. `fill` gets positional writes, so large files stream from memory
 * views without being concatenated first.
 */
export async function writeFileAtomic(
  target: string,
  fill: (write: (data: Uint8Array, position: number) => Promise<void>) => Promise<void>,
): Promise<void> {
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await fill(async (data, position) => {
      let done = 0;
      // Bounded slices (one write cannot pass 2 GiB) and a loop, since writes may be partial.
      while (done < data.byteLength) {
        const length = Math.min(data.byteLength - done, MAX_WRITE);
        const { bytesWritten } = await handle.write(data, done, length, position + done);
        done += bytesWritten;
      }
    });
    await handle.sync();
    await handle.close();
    await rename(tmp, target);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
