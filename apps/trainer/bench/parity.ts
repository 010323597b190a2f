/**
 * Parity across a refactoring (the guard of issue 22's redesign). `dump OUT`
 * writes the sha256 of every zoo variant's graph JSON, gradient graph and
 * ONNX encodings (scoring graph, export with int32 and with int64 ids,
 * training step), and the weights,
 * optimizer state and losses after 5 steps of the onnx engine (2 workers:
 * the host Adam; 1 worker: the IR Adam compiled to ONNX) and of tfjs.
 * `compare A B` lists the hashes that differ and the largest step difference
 * per engine and model. Run `dump` in two checkouts, then `compare`:
 *   cd apps/trainer && pnpm exec tsx bench/parity.ts dump /tmp/before.json
 */
import { tfjsEngineFactory } from '@esm2/backend-tfjs';
import { artifactToModelProto, compileGraph, encodeModel, modelProto, onnxEngineFactory } from '@esm2/backend-onnx';
import { artifactFromModel, buildModel, DEFAULT_OPTIMIZER, grad, initWeights, type EngineFactory, type ModelConfigInput, type OptimizerConfig } from '@esm2/core';
import { randomFeeds, smallSchema } from '@esm2/core/testing';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

type Steps = Record<string, Record<string, number[]>>;
interface Dump {
  hashes: Record<string, Record<string, string>>;
  steps: Steps;
}

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

function variants(): Record<string, ModelConfigInput> {
  const all: Record<string, ModelConfigInput> = {
    esm2: { model: 'esm2', towers: [8, 4] },
    'esm2-tanh': { model: 'esm2', towers: [6], activation: 'tanh' },
    esmm: { model: 'esmm', towers: [8, 4] },
    dnn: { model: 'dnn', towers: [8, 4] },
    'dnn-os': { model: 'dnn-os', oversampleRate: 4, towers: [8, 4] },
    default: {},
  };
  for (const model of ['esm2', 'esmm', 'dnn', 'dnn-os'] as const) {
    all[`${model}-dot`] = { model, towers: [4], interaction: 'dot', embeddingDim: 3, numericDim: model === 'esm2' ? 3 : 2 };
    all[`${model}-cross`] = { model, towers: [4], interaction: 'cross', crossLayers: model === 'esm2' ? 2 : 1 };
  }
  return all;
}

async function dump(path: string): Promise<void> {
  const schema = smallSchema();
  const hashes: Dump['hashes'] = {};
  for (const [name, config] of Object.entries(variants())) {
    const model = buildModel(schema, config);
    const weights = initWeights(model.graph, 7);
    const g = grad(model.graph);
    const artifact = artifactFromModel(model, schema, weights, { metadata: { createdAt: '2026-01-01T00:00:00.000Z' } });
    hashes[name] = {
      graph: sha(JSON.stringify(model.graph)),
      grad: sha(JSON.stringify(g)),
      onnxScoring: sha(encodeModel(modelProto(compileGraph(model.graph, weights, { outputs: [...model.predictions, ...model.towers] })))),
      onnxExport: sha(encodeModel(artifactToModelProto(artifact))),
      // The int64-id export: what versions before int32 ids wrote, byte for byte (a refactoring must keep it).
      onnxExportInt64: sha(encodeModel(artifactToModelProto(artifact, { idType: 'int64' }))),
      onnxTrain: sha(encodeModel(modelProto(compileGraph(g, weights, { outputs: Object.keys(g.outputs) })))),
    };
  }
  const engines: [string, EngineFactory][] = [
    ['onnx', onnxEngineFactory()],
    ['onnx-w1', onnxEngineFactory({ workers: 1 })],
    ['tfjs', tfjsEngineFactory()],
  ];
  const trained: Record<string, ModelConfigInput> = { esm2: { towers: [8, 4], embeddingDim: 4, numericDim: 3 }, esmm: { model: 'esmm', towers: [8, 4] }, 'esm2-dot': variants()['esm2-dot']! };
  const steps: Steps = {};
  for (const [engineName, factory] of engines) {
    for (const [name, config] of Object.entries(trained)) {
      const model = buildModel(schema, config);
      const optimizer: OptimizerConfig = {
        ...DEFAULT_OPTIMIZER,
        lr: 0.01,
        clipNorm: name === 'esm2' ? 0.5 : 0,
        embeddingOptimizer: name === 'esmm' ? 'adagrad' : 'adam',
        embeddingL2: name === 'esm2-dot' ? 1e-4 : 0,
      };
      const engine = await factory.create({ model, weights: initWeights(model.graph, 11), optimizer });
      const losses: number[] = [];
      for (let s = 0; s < 5; s++) losses.push(...Object.values((await engine.step(randomFeeds(model.graph, schema, 24, 100 + s))).losses));
      const record: Record<string, number[]> = { losses };
      for (const [k, v] of engine.getWeights()) record[`w:${k}`] = [...v];
      for (const [k, v] of engine.getState()) record[`s:${k}`] = [...v.data];
      steps[`${engineName}/${name}`] = record;
      engine.dispose();
    }
  }
  writeFileSync(path, JSON.stringify({ hashes, steps } satisfies Dump));
  console.log(`wrote ${path}: ${Object.keys(hashes).length} zoo variants, ${Object.keys(steps).length} trained engine/model pairs`);
}

function compare(pathA: string, pathB: string): void {
  const [a, b] = [pathA, pathB].map((p) => JSON.parse(readFileSync(p, 'utf8')) as Dump) as [Dump, Dump];
  let differing = 0;
  for (const [variant, fields] of Object.entries(a.hashes)) {
    for (const [field, hash] of Object.entries(fields)) {
      if (b.hashes[variant]?.[field] !== hash) {
        differing++;
        console.log(`hash differs: ${variant} ${field}`);
      }
    }
  }
  console.log(`hashes differing: ${differing}`);
  for (const [key, record] of Object.entries(a.steps)) {
    let worst = 0;
    let where = '';
    for (const [tensor, xs] of Object.entries(record)) {
      const ys = b.steps[key]?.[tensor];
      if (!ys) {
        console.log(`missing in ${pathB}: ${key} ${tensor}`);
        continue;
      }
      xs.forEach((x, i) => {
        const d = Math.abs(x - ys[i]!);
        if (d > worst) [worst, where] = [d, tensor];
      });
    }
    console.log(`${key}: max abs difference ${worst}${where ? ` (${where})` : ''}`);
  }
}

const [command, ...args] = process.argv.slice(2);
if (command === 'dump' && args.length === 1) await dump(args[0]!);
else if (command === 'compare' && args.length === 2) compare(args[0]!, args[1]!);
else {
  console.error('usage: parity.ts dump OUT.json | compare A.json B.json');
  process.exitCode = 2;
}
process.exit();
