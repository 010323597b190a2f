/** torchrun's launch: its options checked and completed. */
import { createServer, type AddressInfo } from 'node:net';
import { TorchRunError } from './errors.js';

/**
 * torchrun's launch (`python -m torch.distributed.run`): processes per node
 * and, for several machines, the static rendezvous every node is given.
 */
export interface TorchLaunch {
  /** Ranks on this machine (torchrun's --nproc_per_node). */
  nprocPerNode: number;
  /** Machines (default 1). */
  nnodes?: number;
  /** This machine's number, 0…nnodes−1 (default 0). */
  nodeRank?: number;
  /** Address of node 0 (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of node 0's rendezvous (default: a free port on one node; required on several). */
  masterPort?: number;
  /** Times torchrun restarts the whole group after a rank fails (default 0). */
  maxRestarts?: number;
  /** Where torchrun keeps each rank's stdout (default: a temporary directory, removed afterwards). */
  logDir?: string;
}

/** A free TCP port on the loopback interface (the kernel's choice), for a one-node rendezvous. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Checks a launch and fills its defaults; several nodes need the master's address and port given. */
export async function resolveLaunch(launch: TorchLaunch): Promise<Required<Omit<TorchLaunch, 'logDir'>> & Pick<TorchLaunch, 'logDir'>> {
  const nnodes = launch.nnodes ?? 1;
  const positive = (name: string, x: number) => {
    if (!Number.isInteger(x) || x < 1) throw new TorchRunError(`${name} must be a positive integer, got ${x}`);
  };
  positive('nprocPerNode', launch.nprocPerNode);
  positive('nnodes', nnodes);
  const nodeRank = launch.nodeRank ?? 0;
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new TorchRunError(`nodeRank must be 0…${nnodes - 1} (nnodes ${nnodes}), got ${nodeRank}`);
  const maxRestarts = launch.maxRestarts ?? 0;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) throw new TorchRunError(`maxRestarts must be an integer ≥ 0, got ${maxRestarts}`);
  if (nnodes > 1 && (launch.masterAddr === undefined || launch.masterPort === undefined)) {
    throw new TorchRunError(`${nnodes} nodes need the address and port of node 0 (masterAddr, masterPort), the same on every node`);
  }
  return {
    nprocPerNode: launch.nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr: launch.masterAddr ?? '127.0.0.1',
    masterPort: launch.masterPort ?? (await freePort()),
    maxRestarts,
    ...(launch.logDir !== undefined ? { logDir: launch.logDir } : {}),
  };
}
