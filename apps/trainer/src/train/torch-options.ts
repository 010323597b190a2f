/**
 * The torch backend's run-time settings, on their own so that the API and
 * the CLI (and the trainer's published types) can name them without
 * @esm2/backend-torch (an optional peer): torchrun's launch (one python
 * process without `nprocPerNode`) and the mid-epoch checkpoints. The
 * backend's descriptor reads them as its own TorchBackendOptions; the
 * registry (engines.ts) fails to compile if their members conflict.
 */
export interface TorchBackendOptions {
  /** Ranks on this machine (torchrun's --nproc_per_node); default 1. */
  nprocPerNode?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Times torchrun restarts the group after a rank fails; it resumes from the last (mid-epoch) checkpoint. */
  maxRestarts?: number;
  /** Steps between mid-epoch checkpoints a restarted group resumes from (default 1000, @esm2/backend-torch's DEFAULT_CHECKPOINT_EVERY; 0: epoch ends only). */
  checkpointEvery?: number;
  /** Extra environment of the python processes. */
  env?: Record<string, string>;
}

/** What `fit` (its options and flags) takes of them: everything but the environment. */
export type TorchLaunchOptions = Omit<TorchBackendOptions, 'env'>;

/** The keys of TorchLaunchOptions, in the order the flags are listed. */
export const TORCH_LAUNCH_KEYS = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'maxRestarts', 'checkpointEvery'] as const satisfies readonly (keyof TorchLaunchOptions)[];
