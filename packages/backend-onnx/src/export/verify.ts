import { readFile } from 'node:fs/promises';
import { interpret, type HostTensor, type ModelArtifact } from '@esm2/core';
import { randomFeeds } from '@esm2/core/testing';
import { OnnxSession, type StringTensor } from '../runtime/session.js';
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
  const feeds = randomFeeds(artifact.graph, artifact.schema, rows, 20240601);
  return compareWithInterpreter(artifact, path, outputs, { rows, onnx: feeds, reference: feeds });
}

/** Rows for verifying a --raw-features export: the raw tensors it takes and the same rows as encoded ids. */
export interface RawVerifySample {
  rows: number;
  /** Raw-feature inputs (@esm2/data's rawFeeds). */
  raw: Record<string, HostTensor | StringTensor>;
  /** The same rows through the encoders (what the reference interpreter and the id-input model take). */
  encoded: Record<string, HostTensor>;
}

/**
 * verifyExport for a model exported with raw-feature inputs: the raw rows
 * through onnxruntime against their encoded ids through the reference
 * interpreter, so the encoders in the graph are checked as well.
 */
export async function verifyRawExport(artifact: ModelArtifact, path: string, outputs: string[], sample: RawVerifySample): Promise<VerifyResult> {
  return compareWithInterpreter(artifact, path, outputs, { rows: sample.rows, onnx: sample.raw, reference: sample.encoded });
}

async function compareWithInterpreter(
  artifact: ModelArtifact,
  path: string,
  outputs: string[],
  feeds: { rows: number; onnx: Record<string, HostTensor | StringTensor>; reference: Record<string, HostTensor> },
): Promise<VerifyResult> {
  if ((await checkChecksum(await readFile(path), path)) !== 'verified') throw new Error(`${path}: written without a content checksum`);
  const want = interpret(artifact.graph, artifact.weights, feeds.reference, { outputs });
  const session = await OnnxSession.load(path);
  try {
    const got = await session.run(feeds.onnx, outputs);
    let maxAbsError = 0;
    for (const o of outputs) {
      const g = got[o]!.data;
      const w = want[o]!.data;
      for (let i = 0; i < w.length; i++) {
        const e = Math.abs(g[i]! - w[i]!);
        maxAbsError = Number.isNaN(e) ? Infinity : Math.max(maxAbsError, e);
      }
    }
    return { rows: feeds.rows, maxAbsError, outputs, checksum: 'verified' };
  } finally {
    await session.release();
  }
}
