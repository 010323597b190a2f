import { positiveInt } from '@esm2/cli-kit';
import type { Command } from 'commander';

/** Options shared by batch and serve: how sessions run. */
export function addSessionOptions(command: Command): Command {
  return command
    .option('--workers <n>', 'worker threads, one onnxruntime session each (default: cores, at most 2)', positiveInt)
    .option('--threads <n>', 'intra-op threads per session', positiveInt, 1)
    .option('--spinning', 'let idle intra-op threads spin (lower latency with --threads > 1, burns CPU)', false);
}

export interface SessionFlags {
  workers?: number;
  threads: number;
  spinning: boolean;
}
