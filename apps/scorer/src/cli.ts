#!/usr/bin/env node
/**
 * esm2-score: batch scoring of CSV/Parquet files and an HTTP scoring
 * service, both on onnxruntime with the encoders the model was trained with.
 */
import { packageVersion, runCli } from '@esm2/cli-kit';
import { scorerProgram } from './program.js';

await runCli(scorerProgram(), { name: 'esm2-score', version: packageVersion(import.meta.url) });
