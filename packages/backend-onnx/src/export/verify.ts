import { readFile } from 'node:fs/promises';
import { interpret, type ModelArtifact } from '@esm2/core';
import { randomFeeds } from '@esm2/core/testing';
import { OnnxSession } from '../runtime/session.js';
import { checkChecksum } from './checksum.js';

export interface VerifyResult {
  rows: number;
  /** Largest |onnx − interpreter| over every exported output and row. */
  maxAbsError: number;
  outputs: string[];
  /** The content checksum written with the file matched what was read back. */
  checksum: 'verified';
}

/**
 * Scores random in-range rows with onnxruntime (the written file, external
 * data and all) and with the reference interpreter, so a broken export is
 * caught at export time rather than in serving. The file's content
 * checksum is checked first, as a scorer would.
 */
export async function verifyExport(artifact: ModelArtifact, path: string, outputs: string[], rows = 64): Promise<VerifyResult> {
  if ((await checkChecksum(await readFile(path), path)) !== 'verified') throw new Error(`${path}: written without a content checksum`);
  const feeds = randomFeeds(artifact.graph, artifact.schema, rows, 20240601);
  const want = interpret(artifact.graph, artifact.weights, feeds, { outputs });
  const session = await OnnxSession.load(path);
  try {
    const got = await session.run(feeds, outputs);
    let maxAbsError = 0;
    for (const o of outputs) {
      const g = got[o]!.data;
      const w = want[o]!.data;
      for (let i = 0; i < w.length; i++) {
        const e = Math.abs(g[i]! - w[i]!);
        maxAbsError = Number.isNaN(e) ? Infinity : Math.max(maxAbsError, e);
      }
    }
    return { rows, maxAbsError, outputs, checksum: 'verified' };
  } finally {
    await session.release();
  }
}
