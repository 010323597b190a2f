"""esm2_torch: the ESM2 model IR (the Graph JSON of @esm2/core) executed with PyTorch.

``ops.LOWERINGS`` maps every IR op to a torch function; ``graph.run_graph``
runs a graph; ``python3 -m esm2_torch.run REQUEST_DIR`` serves one request
written by @esm2/backend-torch's ``runTorchGraph``.
"""

import os


def error_prefix():
    """How a process names itself on its one error line: ``esm2_torch: `` and, under torchrun with several ranks, ``[rank N] ``."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return "esm2_torch: [rank %s] " % os.environ.get("RANK", "?")
    return "esm2_torch: "
