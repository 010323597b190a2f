import { Command } from 'commander';
import { registerCompareCommand } from './commands/compare.js';
import { registerDataCommands } from './commands/data.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExportCommand } from './commands/export.js';
import { registerFitCommand } from './commands/fit.js';
import { registerReplayCommand } from './commands/replay.js';

/** The esm2-train command tree (run by cli.ts through the kit's runCli; built here so tests can drive it in-process). */
export function trainerProgram(): Command {
  const program = new Command().description('Train, evaluate and export ESM2-family conversion-rate models');
  registerDataCommands(program);
  registerFitCommand(program);
  registerEvalCommand(program);
  registerExportCommand(program);
  registerCompareCommand(program);
  registerReplayCommand(program);
  return program;
}
