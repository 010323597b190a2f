/**
 * A worker thread owning one onnxruntime session (see threadCompiler):
 * onnxruntime-node's session.run is synchronous on the calling thread, so
 * sessions run side by side only on threads of their own.
 *
 * workerData: { model: Uint8Array, threads, spinning }. Messages in:
 * { id, feeds: { name: { shape, data: Float32Array } }, outputs: string[] };
 * out: { ready: true } once the session is made, then per run
 * { id, results: { name: Float32Array } } or { id, error: string }.
 */
import * as ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';
import { ortSessionOptions } from '../runtime/session.js';

interface Init {
  model: Uint8Array;
  threads: number;
  spinning: boolean;
}
interface Request {
  id: number;
  feeds: Record<string, { shape: number[]; data: Float32Array }>;
  outputs: string[];
}

const port = parentPort!;
const init = workerData as Init;
try {
  const session = await ort.InferenceSession.create(init.model, ortSessionOptions({ threads: init.threads, spinning: init.spinning, denormalAsZero: true }));
  port.on('message', (request: Request) => {
    void (async () => {
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const name of session.inputNames) {
          const feed = request.feeds[name];
          if (!feed) throw new Error(`missing input '${name}'`);
          feeds[name] = new ort.Tensor('float32', feed.data, feed.shape);
        }
        const out = await session.run(feeds, request.outputs);
        const results: Record<string, Float32Array> = {};
        for (const o of request.outputs) results[o] = out[o]!.data as Float32Array;
        const buffers = [...new Set(Object.values(results).map((r) => r.buffer))];
        try {
          // Moved, not copied, when the binding's arrays allow it.
          port.postMessage({ id: request.id, results }, buffers as ArrayBuffer[]);
        } catch {
          port.postMessage({ id: request.id, results });
        }
      } catch (err) {
        port.postMessage({ id: request.id, error: (err as Error).message });
      }
    })();
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ error: `onnxruntime session: ${(err as Error).message}` });
}
