import { Command } from 'commander';
import { registerBatchCommand } from './commands/batch.js';
import { registerServeCommand } from './commands/serve.js';

/** The esm2-score command tree (run by cli.ts through the kit's runCli; built here so tests can drive it in-process). */
export function scorerProgram(): Command {
  const program = new Command()
    .description('Score rows with an ESM2-family model (artifact directory or exported .onnx)')
    // Root options only before the command name, so `serve --model` is serve's own.
    .enablePositionalOptions();
  registerBatchCommand(program);
  registerServeCommand(program);
  // `score` is the default command, so a misspelt command name would otherwise reach it as a stray argument.
  program.hook('preSubcommand', (root, sub) => {
    const first = root.args[0];
    if (sub.name() === 'score' && first !== undefined && first !== 'score' && !first.startsWith('-')) {
      const names = root.commands.map((c) => c.name());
      root.error(`error: unknown command '${first}' (commands: ${[...names, 'help'].join(', ')})`, { code: 'commander.unknownCommand', exitCode: 1 });
    }
  });
  return program;
}
