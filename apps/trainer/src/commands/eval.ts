import { DEFAULT_OPTIMIZER, MODEL_FILE, artifactInputs, formatMetricsTable, locateArtifact, readArtifact, refuseSamePaths, writeJsonAtomic } from '@esm2/core';
import { encodersForSchema, openDataset } from '@esm2/data';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { modelOfArtifact } from '../train/checkpoint.js';
import { BACKEND_NAMES, DEFAULT_BACKEND, engineFactory } from '../train/engines.js';
import { evaluateDataset } from '../train/evaluate.js';
import { runPaths } from '../train/run-dir.js';
import { positiveInt, userPath } from '@esm2/cli-kit';

const exists = (p: string) => access(p).then(() => true, () => false);

/** `--model` may be a run directory (its best/ artifact is used; metrics.json goes beside it) or an artifact directory. */
async function locateModel(path: string): Promise<{ artifactDir: string; metricsFile: string }> {
  const artifactDir = await locateArtifact(path).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`)));
  return { artifactDir, metricsFile: artifactDir === path ? join(path, 'metrics.json') : runPaths(path).metrics };
}

/** `eval`: the ESM2 metrics bundle of a trained model on a labelled file. */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a trained model: exact AUCs, GAUC, logloss, PCOC, top-k; prints a table and writes metrics.json')
    .requiredOption('--model <dir>', 'run directory (runs/NAME) or model artifact directory')
    .requiredOption('--data <file>', 'labelled test data (.csv, .tsv or .parquet)')
    .option('--out <file>', 'where to write metrics.json (default: in the run directory)')
    .option('--batch-size <n>', 'rows per prediction batch', positiveInt, 4096)
    .option('--backend <name>', `engine to score with: ${BACKEND_NAMES.join(' | ')}`, DEFAULT_BACKEND)
    .action(async (opts: { model: string; data: string; out?: string; batchSize: number; backend: string }) => {
      const factory = await engineFactory(opts.backend);
      const { artifactDir, metricsFile } = await locateModel(userPath(opts.model));
      const data = userPath(opts.data);
      if (!(await exists(data))) throw new Error(`--data ${data}: no such file`);
      const out = opts.out ? userPath(opts.out) : metricsFile;
      await refuseSamePaths([{ flag: '--data', path: data }, ...artifactInputs(artifactDir)], [{ flag: '--out', path: out }]);
      const artifact = await readArtifact(artifactDir);
      if (artifact.encoders === null) throw new Error(`${artifactDir}: the artifact carries no data encoders, so raw files cannot be read for it`);
      const encoders = encodersForSchema(artifact.encoders, artifact.schema, join(artifactDir, MODEL_FILE));
      const model = modelOfArtifact(artifact);
      const engine = await factory.create({ model, weights: artifact.weights, optimizer: DEFAULT_OPTIMIZER });
      let metrics;
      try {
        metrics = await evaluateDataset(engine, model, openDataset(data, { encoders, batchSize: opts.batchSize }));
      } finally {
        engine.dispose();
      }
      await writeJsonAtomic(out, { model: artifactDir, data, engine: engine.description, ...metrics }, { mkdirs: true });
      console.log(`${model.config.model} from ${artifactDir} on ${data}\n`);
      console.log(formatMetricsTable(metrics));
      console.log(`\nmetrics written to ${out}`);
    });
}
