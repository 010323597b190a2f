/**
 * A worker thread owning one onnxruntime session (see threadCompiler):
 * onnxruntime-node's session.run is synchronous on the calling thread, so
 * sessions run side by side only on threads of their own.
 *
 * workerData: { model: Uint8Array, threads, spinning }. Messages in:
 * { id, feeds: Packed, outputs: string[] }; out: { ready: true } once the
 * session is made, then per run { id, results: Packed } or { id, error }
 * (packed.ts: one transferred buffer per message).
 */
import * as ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';
import { ortSessionOptions } from '../runtime/session.js';
import { pack, unpack, type Packed } from './packed.js';

interface Init {
  model: Uint8Array;
  threads: number;
  spinning: boolean;
}
interface Request {
  id: number;
  feeds: Packed;
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
        const given = unpack(request.feeds);
        for (const name of session.inputNames) {
          const feed = given.get(name);
          if (!feed) throw new Error(`missing input '${name}'`);
          feeds[name] = new ort.Tensor('float32', feed.data, feed.shape);
        }
        const out = await session.run(feeds, request.outputs);
        const results = pack(request.outputs.map((o) => ({ name: o, shape: out[o]!.dims, data: out[o]!.data as Float32Array })));
        port.postMessage({ id: request.id, results }, [results.buffer]);
      } catch (err) {
        port.postMessage({ id: request.id, error: (err as Error).message });
      }
    })();
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ error: `onnxruntime session: ${(err as Error).message}` });
}
