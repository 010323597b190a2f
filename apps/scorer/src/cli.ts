#!/usr/bin/env node
/**
 * esm2-score: batch scoring of CSV/Parquet files and an HTTP scoring
 * service, both on onnxruntime with the encoders the model was trained with.
 */
import { packageVersion, runCli } from '@esm2/cli-kit';
import { Command } from 'commander';
import { registerBatchCommand } from './commands/batch.js';
import { registerServeCommand } from './commands/serve.js';

const program = new Command()
  .description('Score rows with an ESM2-family model (artifact directory or exported .onnx)')
  // Root options only before the command name, so `serve --model` is serve's own.
  .enablePositionalOptions();

registerBatchCommand(program);
registerServeCommand(program);

await runCli(program, { name: 'esm2-score', version: packageVersion(import.meta.url) });
