import { nonNegativeInt, positiveInt } from '@esm2/cli-kit';
import type { Command } from 'commander';

/**
 * Options shared by batch and serve: how sessions run. `onThread`: the
 * command can also score on its own thread (serve's --workers 0).
 */
export function addSessionOptions(command: Command, options: { onThread?: boolean } = {}): Command {
  const workers = options.onThread
    ? command.option(
        '--workers <n>',
        'worker threads, one onnxruntime session each (default: cores, at most 2); 0: one session on the HTTP thread (no hand-off: the least CPU per row, one core; run a process per core)',
        nonNegativeInt,
      )
    : command.option('--workers <n>', 'worker threads, one onnxruntime session each (default: cores, at most 2)', positiveInt);
  return workers
    .option('--threads <n>', 'intra-op threads per session', positiveInt, 1)
    .option('--spinning', 'let idle intra-op threads spin (lower latency with --threads > 1, burns CPU)', false);
}

export interface SessionFlags {
  workers?: number;
  threads: number;
  spinning: boolean;
}
