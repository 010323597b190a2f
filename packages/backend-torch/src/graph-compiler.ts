import type { GraphCompiler, HostTensor } from '@esm2/core';
import type { TorchOptions } from './python.js';
import { runTorchGraphs, type TorchResult, type TorchRun } from './run.js';

interface Pending {
  run: TorchRun;
  resolve: (result: TorchResult) => void;
  reject: (error: unknown) => void;
}

/**
 * PyTorch as core's GraphCompiler (parameters already inputs): each run is
 * one graph evaluation by python/esm2_torch (run_graph). Starting python and
 * importing torch takes seconds, so the runs asked for together — before the
 * event loop next turns (setImmediate) — go to one python process
 * (runTorchGraphs); one failing run rejects every run of its process. For
 * tests and tools (the conformance suite); training uses trainTorch.
 */
export function torchCompiler(options: TorchOptions = {}): GraphCompiler {
  let pending: Pending[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    runTorchGraphs(
      batch.map((p) => p.run),
      options,
    ).then(
      (results) => batch.forEach((p, k) => p.resolve(results[k]!)),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  };
  const submit = (run: TorchRun) =>
    new Promise<TorchResult>((resolve, reject) => {
      if (pending.push({ run, resolve, reject }) === 1) setImmediate(flush);
    });
  return (graph) => {
    const names = new Set(graph.inputs.map((i) => i.name));
    return Promise.resolve({
      async run(feeds, outputs, into) {
        const tensors: Record<string, HostTensor> = {};
        for (const [name, t] of Object.entries(feeds)) if (names.has(name)) tensors[name] = t;
        const result = await submit({ graph, tensors, outputs });
        return Object.fromEntries(
          outputs.map((o) => {
            const data = result.outputs[o]!.data;
            const values = data instanceof Float32Array ? data : Float32Array.from(data);
            const target = into?.[o];
            if (target) target.set(values);
            return [o, target ?? values];
          }),
        );
      },
    });
  };
}
