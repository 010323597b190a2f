#!/usr/bin/env node
/**
 * esm2-train: one binary for the model's whole life: data preparation,
 * fitting, evaluation and export. Each subcommand lives in its own module.
 */
import { Command } from 'commander';
import { registerDataCommands } from './commands/data.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerFitCommand } from './commands/fit.js';

const program = new Command()
  .name('esm2-train')
  .description('Train, evaluate and export ESM2-family conversion-rate models')
  .showHelpAfterError();

registerDataCommands(program);
registerFitCommand(program);
registerEvalCommand(program);
registerExportCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`esm2-train: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
