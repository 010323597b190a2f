#!/usr/bin/env node
/**
 * esm2-train: one binary for the model's whole life: data preparation,
 * fitting, evaluation and export. Each subcommand lives in its own module.
 */
import { packageVersion, runCli } from '@esm2/cli-kit';
import { Command } from 'commander';
import { registerDataCommands } from './commands/data.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerFitCommand } from './commands/fit.js';

const program = new Command().description('Train, evaluate and export ESM2-family conversion-rate models');

registerDataCommands(program);
registerFitCommand(program);
registerEvalCommand(program);
registerExportCommand(program);

await runCli(program, { name: 'esm2-train', version: packageVersion(import.meta.url) });
