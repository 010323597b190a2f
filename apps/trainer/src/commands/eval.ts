import { DEFAULT_OPTIMIZER, MODEL_FILE, formatMetricsTable, type ModelArtifact } from '@esm2/core';
import { artifactInputs, locateArtifact, namedPath, readArtifact, refuseSamePaths, writeFileAtomic, writeJsonAtomic } from '@esm2/core/node';
import { encodersForSchema, openDataset } from '@esm2/data';
import { esm2Curves, renderReport, type ReportRun } from '@esm2/report';
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { modelOfArtifact } from '../train/checkpoint.js';
import { BACKEND_NAMES, DEFAULT_BACKEND, engineFactory } from '../train/engines.js';
import { scoreDataset } from '../train/evaluate.js';
import { readHistory } from '../train/history.js';
import { runPaths } from '../train/run-dir.js';
import { positiveInt, userPath } from '@esm2/cli-kit';

const exists = (p: string) => access(p).then(() => true, () => false);

/**
 * `--model` may be a run directory (its best/ artifact is used; metrics.json
 * goes beside it and its history.json feeds the report's training curves) or
 * an artifact directory (no history).
 */
async function locateModel(path: string): Promise<{ artifactDir: string; metricsFile: string; historyFile?: string }> {
  const artifactDir = await locateArtifact(path).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`)));
  if (artifactDir === path) return { artifactDir, metricsFile: join(path, 'metrics.json') };
  const paths = runPaths(path);
  return { artifactDir, metricsFile: paths.metrics, historyFile: paths.history };
}

/** The seed a run was trained with, as fit records it in the artifact's metadata (absent for other artifacts). */
function seedOf(artifact: ModelArtifact): number | undefined {
  const settings = artifact.metadata.settings;
  const seed = settings !== null && typeof settings === 'object' ? (settings as { seed?: unknown }).seed : undefined;
  return typeof seed === 'number' ? seed : undefined;
}

/** `eval`: the ESM2 metrics bundle of a trained model on a labelled file. */
export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a trained model: exact AUCs, GAUC, logloss, PCOC, top-k; prints a table and writes metrics.json (and an HTML report with --report)')
    .requiredOption('--model <dir>', 'run directory (runs/NAME) or model artifact directory')
    .requiredOption('--data <file>', 'labelled test data (.csv, .tsv or .parquet)')
    .option('--out <file>', 'where to write metrics.json (default: in the run directory)')
    .option('--report <file>', 'also write a self-contained HTML report: metric tables, ROC and calibration per task, training curves (run directories), top-k bars')
    .option('--batch-size <n>', 'rows per prediction batch', positiveInt, 4096)
    .option('--backend <name>', `engine to score with: ${BACKEND_NAMES.join(' | ')}`, DEFAULT_BACKEND)
    .action(async (opts: { model: string; data: string; out?: string; report?: string; batchSize: number; backend: string }) => {
      const factory = await engineFactory(opts.backend);
      const modelPath = userPath(opts.model);
      const { artifactDir, metricsFile, historyFile } = await locateModel(modelPath);
      const data = userPath(opts.data);
      if (!(await exists(data))) throw new Error(`--data ${data}: no such file`);
      const out = opts.out ? userPath(opts.out) : metricsFile;
      const reportFile = opts.report === undefined ? undefined : userPath(opts.report);
      await refuseSamePaths(
        [{ flag: '--data', path: data }, ...artifactInputs(artifactDir), ...(reportFile && historyFile ? [{ flag: '--model', path: historyFile }] : [])],
        [{ flag: '--out', path: out }, namedPath('--report', reportFile)],
      );
      const history = reportFile && historyFile ? await readHistory(historyFile) : undefined;
      const artifact = await readArtifact(artifactDir);
      if (artifact.encoders === null) throw new Error(`${artifactDir}: the artifact carries no data encoders, so raw files cannot be read for it`);
      const encoders = encodersForSchema(artifact.encoders, artifact.schema, join(artifactDir, MODEL_FILE));
      const model = modelOfArtifact(artifact);
      const engine = await factory.create({ model, weights: artifact.weights, optimizer: DEFAULT_OPTIMIZER });
      let scores;
      try {
        scores = await scoreDataset(engine, model, openDataset(data, { encoders, batchSize: opts.batchSize }));
      } finally {
        engine.dispose();
      }
      const metrics = scores.evaluate();
      // Rendered before anything is written, so a failure leaves neither file half-made.
      let report: { path: string; html: string } | undefined;
      if (reportFile !== undefined) {
        const seed = seedOf(artifact);
        const run: ReportRun = { ...(seed === undefined ? {} : { seed }), metrics, ...esm2Curves(scores.toEsm2Input()), ...(history ? { history } : {}) };
        const { rows, clicks, dactions, buys } = metrics;
        const { html } = await renderReport({
          data: { rows, clicks, dactions, buys, source: data },
          models: [{ name: `${model.config.model} (${basename(modelPath)})`, runs: [run] }],
        });
        report = { path: reportFile, html };
      }
      await writeJsonAtomic(out, { model: artifactDir, data, engine: engine.description, ...metrics }, { mkdirs: true });
      if (report) await writeFileAtomic(report.path, report.html, { mkdirs: true });
      console.log(`${model.config.model} from ${artifactDir} on ${data}\n`);
      console.log(formatMetricsTable(metrics));
      console.log(`\nmetrics written to ${out}`);
      if (report) console.log(`report written to ${report.path}`);
    });
}
