"""The ranks a training step runs on: one process, or a torch.distributed group under torchrun.

The step (esm2_torch.train.Trainer.step) is written once, for any number of
ranks; it talks to the others only through a communicator:

- ``Single``: one process; every exchange is the identity, so the step is
  exactly the one-rank step;
- ``Group``: the ranks of the default torch.distributed process group (gloo
  on CPU), started by torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
  in the environment). Dense gradients are summed with one all_reduce (what
  DistributedDataParallel does with its buckets); the embedding rows
  gradients and their ids are all-gathered, so every rank holds the whole
  global batch's rows gradients and applies the same lazy update to its
  replica of the tables.

A global batch of n rows is split across W ranks in contiguous near-equal
parts (``split_rows``, in rank order), so rank 0 has its first rows: the
gathered rows are the global batch's rows in order.
"""

import os

import torch
import torch.distributed as dist


def split_rows(n, world):
    """Rows of each rank for a global batch of n rows: contiguous, near-equal, in rank order (as the data package's shardRows)."""
    return [(n * (r + 1)) // world - (n * r) // world for r in range(world)]


class Single:
    """One process: the step's exchanges are the identity."""

    rank = 0
    world = 1

    def all_reduce_sum(self, tensor):
        return tensor

    def all_gather_rows(self, tensor, counts):
        return tensor

    def broadcast(self, obj):
        return obj

    def barrier(self):
        pass

    def close(self):
        pass


class Group:
    """The ranks of torch.distributed's default process group."""

    def __init__(self):
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()

    def all_reduce_sum(self, tensor):
        """The elementwise sum over ranks (every rank gets it)."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def all_gather_rows(self, tensor, counts):
        """Every rank's rows (``counts[r]`` of them on rank r) concatenated in rank order; every rank gets the whole."""
        most = max(counts)
        padded = torch.zeros((most,) + tuple(tensor.shape[1:]), dtype=tensor.dtype)
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        return torch.cat([part[:n] for part, n in zip(parts, counts)])

    def broadcast(self, obj):
        """Rank 0's (picklable) object, on every rank."""
        box = [obj if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self):
        dist.barrier()

    def close(self):
        dist.destroy_process_group()


def communicator():
    """A Group when torchrun started this process with WORLD_SIZE > 1 (gloo, or ESM2_TORCH_DIST_BACKEND), else Single."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Single()
    dist.init_process_group(backend=os.environ.get("ESM2_TORCH_DIST_BACKEND", "gloo"))
    return Group()
