"""esm2_torch: the ESM2 model IR (the Graph JSON of @esm2/core) executed with PyTorch.

``ops.LOWERINGS`` maps every IR op to a torch function; ``graph.run_graph``
runs a graph; ``python3 -m esm2_torch.run REQUEST_DIR`` serves one request
written by @esm2/backend-torch's ``runTorchGraph``, and ``python3 -m
esm2_torch.fit REQUEST_JSON`` trains epochs from encoded shards.
"""

import os
import sys

#: The exit code of an entry point that cannot import torch (or numpy).
NO_TORCH = 3


def error_prefix():
    """How a process names itself on its one error line: ``esm2_torch: `` and, under torchrun with several ranks, ``[rank N] ``."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return "esm2_torch: [rank %s] " % os.environ.get("RANK", "?")
    return "esm2_torch: "


def main(argv, usage, body):
    """An entry point's main: ``body(argv[1])``'s exit code; a usage line (2), torch or numpy not importable (NO_TORCH), or any failure as one line on stderr (1), never a traceback."""
    if len(argv) != 2:
        print("usage: %s" % usage, file=sys.stderr)
        return 2
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print("esm2_torch: torch cannot be imported by %s: %s" % (sys.executable, e), file=sys.stderr)
        return NO_TORCH
    try:
        return body(argv[1])
    except Exception as e:  # one clear line for the caller, not a traceback
        lines = str(e).splitlines()
        print("%s%s: %s" % (error_prefix(), type(e).__name__, lines[0] if lines else ""), file=sys.stderr, flush=True)
        return 1
