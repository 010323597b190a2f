#!/usr/bin/env node
/**
 * esm2-score: batch scoring of CSV/Parquet files and an HTTP scoring
 * service, both on onnxruntime with the encoders the model was trained with.
 */
import { Command } from 'commander';
import { registerBatchCommand } from './commands/batch.js';
import { registerServeCommand } from './commands/serve.js';

const program = new Command()
  .name('esm2-score')
  .description('Score rows with an ESM2-family model (artifact directory or exported .onnx)')
  .showHelpAfterError()
  // Root options only before the subcommand, so `serve --model` is serve's own.
  .enablePositionalOptions();

registerBatchCommand(program);
registerServeCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`esm2-score: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});

