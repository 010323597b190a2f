import { stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import {
  DEFAULT_TRITON_MAX_BATCH_SIZE,
  checkTritonModelName,
  exportArtifactToOnnx,
  exportArtifactToTriton,
  scoringOutputs,
  verifyExport,
  verifyRawExport,
  type IdType,
  type VerifyResult,
  type WrittenModel,
} from '@esm2/backend-onnx';
import { MODEL_FILE } from '@esm2/core';
import { artifactInputs, locateArtifact, readArtifact, refuseInsideDirs, refuseSamePaths, type NamedPath } from '@esm2/core/node';
import { batchToFeeds, encodersForSchema, rawFeatureEncodings, rawFeeds, sampleRawRows } from '@esm2/data';
import { InvalidArgumentError, type Command } from 'commander';
import { nameList, nonNegativeInt, oneOf, positiveInt, userPath } from '@esm2/cli-kit';
import { runPaths, type RunPaths } from '../train/run-dir.js';

/** Exports stay within this of the reference interpreter; float32 ONNX vs f64 reference differ by ~1e-7. */
const VERIFY_TOLERANCE = 1e-5;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
const describeWritten = (w: WrittenModel) => `${w.path} (${mib(w.bytes)})${w.dataPath ? ` + external data ${w.dataPath}` : ''}`;

interface ExportFlags {
  model: string;
  onnx?: string;
  triton?: string;
  name?: string;
  maxBatchSize?: number;
  version?: number;
  outputs?: string[];
  modelVersion?: string;
  externalDataThreshold?: number;
  rawFeatures?: boolean;
  idType?: IdType;
  verify: boolean;
}

const ID_TYPES: readonly IdType[] = ['int32', 'int64'];

/** A Triton model name given by --name: it becomes a directory, so no separators or dot-names. */
function modelName(value: string): string {
  try {
    checkTritonModelName(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

/** The artifact directories of a run (runPaths' best and checkpoint). */
const ARTIFACT_DIRS = ['best', 'checkpoint'];
const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;

/**
 * The training run an artifact belongs to: `--model runs/NAME`, or its
 * best/ (or checkpoint/) artifact given directly; undefined for an artifact
 * directory of its own.
 */
async function runDirOf(modelPath: string, artifactDir: string): Promise<RunPaths | undefined> {
  if (artifactDir !== modelPath) return runPaths(modelPath);
  const parent = runPaths(dirname(artifactDir));
  if (!ARTIFACT_DIRS.includes(basename(artifactDir))) return undefined;
  const isRun = (await stat(parent.history).catch(() => undefined)) !== undefined || ((await isDir(parent.best)) && (await isDir(parent.checkpoint)));
  return isRun ? parent : undefined;
}

/** Every file of a run an export must not overwrite, as inputs of --model. */
function runInputs(run: RunPaths): NamedPath[] {
  return [
    ...artifactInputs(run.best),
    ...artifactInputs(run.checkpoint),
    ...[run.history, run.metrics, run.lock].map((path) => ({ flag: '--model', path })),
  ];
}

/**
 * `esm2-train export --model runs/NAME --onnx out.onnx`: the artifact as a
 * standalone ONNX scoring model (opset 17) carrying its feature schema and
 * encoders, checked against the reference interpreter before it is reported.
 * `--triton DIR` writes the same model as a Triton model repository entry,
 * DIR/<name>/config.pbtxt and DIR/<name>/1/model.onnx; into a model folder
 * that is there already, the next version DIR/<name>/<highest + 1>/ (or
 * `--version N`), served by the folder's config.pbtxt, which is kept.
 * `--raw-features` puts the fitted encoders into the graph, so any ONNX
 * runtime scores raw rows; verification then scores sample raw rows
 * (unseen and missing categories among them) against the encoders and the
 * reference interpreter.
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('Export a trained model artifact to ONNX for esm2-score, onnxruntime, Triton…')
    .requiredOption('--model <dir>', 'model artifact directory (e.g. runs/NAME)')
    .option('--onnx <file>', 'output .onnx file (written atomically; weights past 2 GB go to <file>.data)')
    .option(
      '--triton <dir>',
      'Triton model repository: writes <dir>/<name>/config.pbtxt and <dir>/<name>/1/model.onnx; into an existing <dir>/<name>, the next version <dir>/<name>/<highest + 1>/model.onnx with the same inputs and outputs (config.pbtxt kept)',
    )
    .option('--name <name>', "Triton model name and directory (default: the artifact's model name, e.g. esm2)", modelName)
    .option('--version <n>', 'with --triton: write this version number (refused if it exists; default: 1, or the highest version + 1)', positiveInt)
    .option('--max-batch-size <n>', `Triton max_batch_size of a new model folder (default ${DEFAULT_TRITON_MAX_BATCH_SIZE}); an existing folder keeps its own`, positiveInt)
    .option('--outputs <names>', 'comma-separated outputs, each once and at least one prediction (default: the predictions, then ESM2 towers y1..y4)', nameList)
    .option('--model-version <version>', 'version string stored in metadata (default: content hash of graph and weights)')
    .option('--external-data-threshold <bytes>', 'move weights to <file>.data when they exceed this many bytes', nonNegativeInt)
    .option(
      '--raw-features',
      'with --onnx: put the fitted encoders into the graph, so it takes raw values (categories as strings, lists as [batch, maxLength] strings padded with "", numbers as float); refused for hash-encoded fields',
    )
    .option(
      '--id-type <type>',
      "ONNX type of the id inputs (categorical and multi-valued fields): int32 (default; onnxruntime takes the scorer's ids without converting them) | int64 (as exports before it, for clients that send int64 ids, e.g. a Triton model folder served that way)",
      oneOf(ID_TYPES),
    )
    .option('--no-verify', 'skip scoring random rows with onnxruntime and the reference interpreter before the export is renamed into place')
    .action(async (opts: ExportFlags) => {
      if ((opts.onnx === undefined) === (opts.triton === undefined)) throw new Error('give one of --onnx <file> or --triton <dir>');
      const tritonFlags = { name: '--name', maxBatchSize: '--max-batch-size', version: '--version' } as const;
      for (const [flag, spelt] of Object.entries(tritonFlags) as [keyof typeof tritonFlags, string][]) {
        if (opts[flag] !== undefined && opts.triton === undefined) throw new Error(`${spelt} applies to --triton only`);
      }
      if (opts.rawFeatures && opts.onnx === undefined) throw new Error('--raw-features applies to --onnx only');
      if (opts.rawFeatures && opts.idType !== undefined) {
        throw new Error('--id-type applies to id inputs; a --raw-features export takes strings and floats (its encoders make int64 ids inside the graph): leave one out');
      }
      const twice = opts.outputs?.find((o, i) => opts.outputs!.indexOf(o) !== i);
      if (twice !== undefined) throw new Error(`--outputs names ${twice} twice`);
      const modelPath = userPath(opts.model);
      const artifactDir = await locateArtifact(modelPath).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`)));
      const run = await runDirOf(modelPath, artifactDir);
      // Nothing of the run (its artifacts, which fit and --resume replace whole, its history, metrics, lock) may be overwritten.
      const guard = async (outputs: NamedPath[]) => {
        await refuseSamePaths(run ? runInputs(run) : artifactInputs(artifactDir), outputs);
        await refuseInsideDirs([{ flag: '--model', path: artifactDir }, ...(run ? [run.best, run.checkpoint].map((path) => ({ flag: '--model', path })) : [])], outputs);
      };
      let onnxPath: string | undefined;
      let tritonDir: string | undefined;
      if (opts.onnx !== undefined) {
        onnxPath = userPath(opts.onnx);
        if ((await stat(onnxPath).catch(() => undefined))?.isDirectory()) throw new Error(`--onnx ${opts.onnx} is a directory; give a file name`);
        await guard([{ flag: '--onnx', path: onnxPath }, { flag: '--onnx (its external data file)', path: `${onnxPath}.data` }]);
      }
      const artifact = await readArtifact(artifactDir);
      if (opts.triton !== undefined) {
        tritonDir = join(userPath(opts.triton), opts.name ?? artifact.model.name);
        await guard([{ flag: '--triton', path: tritonDir }]);
      }
      // The encoders travel inside the .onnx; ones that disagree with the embedding tables would score every row wrongly.
      const encoders = artifact.encoders === null ? undefined : encodersForSchema(artifact.encoders, artifact.schema, join(artifactDir, MODEL_FILE));
      if (opts.rawFeatures && encoders === undefined) {
        throw new Error(`--raw-features: ${artifactDir} carries no encoders (it was not trained from a prepared dataset), so there are none to put into the graph`);
      }
      const rawFeatures = opts.rawFeatures && encoders ? rawFeatureEncodings(encoders) : undefined;
      const outputs = opts.outputs ?? scoringOutputs(artifact);
      const unknown = outputs.filter((o) => !(o in artifact.graph.outputs));
      if (unknown.length > 0) throw new Error(`unknown output(s) ${unknown.join(', ')}; the model has ${Object.keys(artifact.graph.outputs).join(', ')}`);
      // A scoring model answers with predictions; one without any verifies but then cannot be served (esm2-score, /v1 and /v2).
      if (!outputs.some((o) => (artifact.model.predictions as string[]).includes(o))) {
        throw new Error(
          `--outputs ${outputs.join(',')} holds no prediction: give at least one of ${artifact.model.predictions.join(', ')} (towers such as ${outputs[0]} come along beside it, e.g. --outputs ${artifact.model.predictions.at(-1)},${outputs.join(',')})`,
        );
      }
      let verified: string | undefined;
      // Runs on the written model before it is renamed into place: a failure leaves the destination as it was.
      const verify = async (path: string) => {
        let check: VerifyResult;
        let against: string;
        if (rawFeatures && encoders) {
          const sample = sampleRawRows(rawFeatures, 64);
          const encoded = batchToFeeds(artifact.graph, encoders.encodeRows(sample));
          check = await verifyRawExport(artifact, path, outputs, { rows: sample.length, raw: rawFeeds(rawFeatures, sample), encoded });
          against = `on raw rows matches the encoders and the reference interpreter within ${check.maxAbsError.toExponential(1)} on ${check.rows} sample rows (unseen and missing categories among them)`;
        } else {
          check = await verifyExport(artifact, path, outputs);
          against = `matches the reference interpreter within ${check.maxAbsError.toExponential(1)} on ${check.rows} random rows`;
        }
        if (!(check.maxAbsError <= VERIFY_TOLERANCE)) {
          throw new Error(
            `verification failed: onnxruntime differs from the reference by ${check.maxAbsError} (> ${VERIFY_TOLERANCE}) on ${check.rows} ${rawFeatures ? 'sample raw' : 'random'} rows; ${onnxPath ?? tritonDir} was left as it was`,
          );
        }
        verified = `verified: onnxruntime ${against}`;
      };
      const options = {
        outputs,
        // Which run, not where it is on this machine: runs/NAME/best is `NAME/best`.
        source: relative(dirname(ARTIFACT_DIRS.includes(basename(artifactDir)) ? dirname(artifactDir) : artifactDir), artifactDir),
        ...(opts.modelVersion !== undefined ? { modelVersion: opts.modelVersion } : {}),
        ...(opts.externalDataThreshold !== undefined ? { externalData: { threshold: opts.externalDataThreshold } } : {}),
        ...(rawFeatures !== undefined ? { rawFeatures } : {}),
        ...(opts.idType !== undefined ? { idType: opts.idType } : {}),
        ...(opts.verify ? { verify } : {}),
      };
      if (tritonDir !== undefined) {
        const triton = {
          ...options,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.maxBatchSize !== undefined ? { maxBatchSize: opts.maxBatchSize } : {}),
          ...(opts.version !== undefined ? { version: opts.version } : {}),
        };
        const written = await exportArtifactToTriton(artifact, userPath(opts.triton!), triton).catch((err: Error) => Promise.reject(new Error(`--triton ${err.message}`)));
        const what = written.configWritten ? `${written.configPath} and ${describeWritten(written.model)}` : `${describeWritten(written.model)}; kept ${written.configPath} (same inputs and outputs)`;
        console.log(`wrote Triton model '${written.config.name}' version ${written.version} in ${written.dir}: ${what}`);
        console.log(`versions in ${written.dir}: ${[...written.versions].reverse().join(', ')}`);
      } else {
        console.log(`wrote ${describeWritten(await exportArtifactToOnnx(artifact, onnxPath!, options))}`);
      }
      console.log(`model ${artifact.model.name}, outputs ${outputs.join(', ')}, ${rawFeatures ? 'inputs raw feature values' : `ids ${opts.idType ?? 'int32'}`}`);
      if (verified !== undefined) console.log(verified);
    });
}
