/**
 * The torch backend's run-time settings, on their own so that the API and
 * the CLI can name them without loading @esm2/backend-torch (an optional
 * peer): torchrun's launch (one python process without `nprocPerNode`)
 * and the mid-epoch checkpoints.
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
  /** Steps between mid-epoch checkpoints a restarted group resumes from (default 1000; 0: epoch ends only). */
  checkpointEvery?: number;
  /** Extra environment of the python processes. */
  env?: Record<string, string>;
}

/** What `fit` (its options and flags) takes of them: everything but the environment. */
export type TorchLaunchOptions = Omit<TorchBackendOptions, 'env'>;

/** The keys of TorchLaunchOptions, in the order the flags are listed. */
export const TORCH_LAUNCH_KEYS = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'maxRestarts', 'checkpointEvery'] as const satisfies readonly (keyof TorchLaunchOptions)[];

export const DEFAULT_CHECKPOINT_EVERY = 1000;
