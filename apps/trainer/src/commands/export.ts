import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_TRITON_MAX_BATCH_SIZE,
  checkTritonModelName,
  exportArtifactToOnnx,
  exportArtifactToTriton,
  scoringOutputs,
  verifyExport,
  verifyRawExport,
  type VerifyResult,
  type WrittenModel,
} from '@esm2/backend-onnx';
import { artifactInputs, locateArtifact, MODEL_FILE, readArtifact, refuseSamePaths } from '@esm2/core';
import { batchToFeeds, encodersForSchema, rawFeatureEncodings, rawFeeds, sampleRawRows } from '@esm2/data';
import { InvalidArgumentError, type Command } from 'commander';
import { nameList, nonNegativeInt, positiveInt, userPath } from '@esm2/cli-kit';

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
  outputs?: string[];
  modelVersion?: string;
  externalDataThreshold?: number;
  rawFeatures?: boolean;
  verify: boolean;
}


/** A Triton model name given by --name: it becomes a directory, so no separators or dot-names. */
function modelName(value: string): string {
  try {
    checkTritonModelName(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

/**
 * `esm2-train export --model runs/NAME --onnx out.onnx`: the artifact as a
 * standalone ONNX scoring model (opset 17) carrying its feature schema and
 * encoders, checked against the reference interpreter before it is reported.
 * `--triton DIR` writes the same model as a Triton model repository entry,
 * DIR/<name>/config.pbtxt and DIR/<name>/1/model.onnx.
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
    .option('--triton <dir>', 'Triton model repository: writes <dir>/<name>/config.pbtxt and <dir>/<name>/1/model.onnx (refuses an existing <dir>/<name>)')
    .option('--name <name>', "Triton model name and directory (default: the artifact's model name, e.g. esm2)", modelName)
    .option('--max-batch-size <n>', `Triton max_batch_size (default ${DEFAULT_TRITON_MAX_BATCH_SIZE})`, positiveInt)
    .option('--outputs <names>', 'comma-separated outputs (default: the predictions, then ESM2 towers y1..y4)', nameList)
    .option('--model-version <version>', 'version string stored in metadata (default: content hash of graph and weights)')
    .option('--external-data-threshold <bytes>', 'move weights to <file>.data when they exceed this many bytes', nonNegativeInt)
    .option(
      '--raw-features',
      'with --onnx: put the fitted encoders into the graph, so it takes raw values (categories as strings, lists as [batch, maxLength] strings padded with "", numbers as float); refused for hash-encoded fields',
    )
    .option('--no-verify', 'skip scoring random rows with onnxruntime and the reference interpreter after writing')
    .action(async (opts: ExportFlags) => {
      if ((opts.onnx === undefined) === (opts.triton === undefined)) throw new Error('give one of --onnx <file> or --triton <dir>');
      for (const flag of ['name', 'maxBatchSize'] as const) {
        if (opts[flag] !== undefined && opts.triton === undefined) throw new Error(`--${flag === 'name' ? 'name' : 'max-batch-size'} applies to --triton only`);
      }
      if (opts.rawFeatures && opts.onnx === undefined) throw new Error('--raw-features applies to --onnx only');
      const artifactDir = await locateArtifact(userPath(opts.model)).catch((err: Error) => Promise.reject(new Error(`--model ${err.message}`)));
      const artifact = await readArtifact(artifactDir);
      // The encoders travel inside the .onnx; ones that disagree with the embedding tables would score every row wrongly.
      const encoders = artifact.encoders === null ? undefined : encodersForSchema(artifact.encoders, artifact.schema, join(artifactDir, MODEL_FILE));
      if (opts.rawFeatures && encoders === undefined) {
        throw new Error(`--raw-features: ${artifactDir} carries no encoders (it was not trained from a prepared dataset), so there are none to put into the graph`);
      }
      const rawFeatures = opts.rawFeatures && encoders ? rawFeatureEncodings(encoders) : undefined;
      const outputs = opts.outputs ?? scoringOutputs(artifact);
      const unknown = outputs.filter((o) => !(o in artifact.graph.outputs));
      if (unknown.length > 0) throw new Error(`unknown output(s) ${unknown.join(', ')}; the model has ${Object.keys(artifact.graph.outputs).join(', ')}`);
      const options = {
        outputs,
        source: artifactDir,
        ...(opts.modelVersion !== undefined ? { modelVersion: opts.modelVersion } : {}),
        ...(opts.externalDataThreshold !== undefined ? { externalData: { threshold: opts.externalDataThreshold } } : {}),
        ...(rawFeatures !== undefined ? { rawFeatures } : {}),
      };
      let path: string;
      if (opts.triton !== undefined) {
        const repository = userPath(opts.triton);
        const triton = {
          ...options,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.maxBatchSize !== undefined ? { maxBatchSize: opts.maxBatchSize } : {}),
        };
        const written = await exportArtifactToTriton(artifact, repository, triton).catch((err: Error) => Promise.reject(new Error(`--triton ${err.message}`)));
        path = written.model.path;
        console.log(`wrote Triton model '${written.config.name}' in ${written.dir}: ${written.configPath} and ${describeWritten(written.model)}`);
      } else {
        path = userPath(opts.onnx!);
        if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new Error(`--onnx ${opts.onnx} is a directory; give a file name`);
        await refuseSamePaths(artifactInputs(artifactDir), [{ flag: '--onnx', path }, { flag: '--onnx (its external data file)', path: `${path}.data` }]);
        console.log(`wrote ${describeWritten(await exportArtifactToOnnx(artifact, path, options))}`);
      }
      console.log(`model ${artifact.model.name}, outputs ${outputs.join(', ')}${rawFeatures ? ', inputs raw feature values' : ''}`);
      if (opts.verify) {
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
          throw new Error(`verification failed: onnxruntime differs from the reference by ${check.maxAbsError} (> ${VERIFY_TOLERANCE}) on ${check.rows} ${rawFeatures ? 'sample raw' : 'random'} rows`);
        }
        console.log(`verified: onnxruntime ${against}`);
      }
    });
}
