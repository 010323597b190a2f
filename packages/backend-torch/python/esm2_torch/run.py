"""``python3 -m esm2_torch.run REQUEST_DIR``: runs one request written by @esm2/backend-torch.

REQUEST_DIR/request.json is ``{graph, tensors: {name: {file, dtype, shape}},
outputs: [names], grads?: {loss, wrt: [names]}}``; each tensor's file (relative
to REQUEST_DIR) holds its raw little-endian f32 or i32 elements, row-major.
The graph's outputs are computed in node order and, with ``grads``,
torch.autograd.grad of the scalar output ``loss`` with respect to each named
f32 input or parameter. Results are written to REQUEST_DIR/outputs/*.bin,
described by REQUEST_DIR/response.json ``{outputs: {name: {file, dtype,
shape}}, grads: {name: …}, torch: version, ops: [names]}``. A request ``{runs: [request, …]}``
runs several graphs in one process (torch's import is the slow part) and is
answered with ``{runs: [response, …], torch, ops}``; every response names
torch's version and the ops the lowering table covers (``{runs: []}`` asks
only for these). A request (or run) ``{mode: "train", …}`` trains instead (see esm2_torch.train.serve_train).
Any failure exits non-zero with
one line on stderr; exit 3 means torch (or numpy) cannot be imported.
"""

import json
import os
import sys

from . import main


def serve(request_dir):
    """Reads request.json, runs it, writes response.json and the output files; returns the exit code."""
    import torch

    from .ddp import communicator
    from .ops import LOWERINGS
    from .request import RequestError, serve_run

    with open(os.path.join(request_dir, "request.json"), encoding="utf-8") as f:
        request = json.load(f)
    os.makedirs(os.path.join(request_dir, "outputs"), exist_ok=True)
    from .train import serve_train

    comm = communicator()

    def serve_one(run, prefix):
        if run.get("mode") == "train":
            return serve_train(request_dir, run, prefix, comm)
        if comm.world > 1:
            raise RequestError("only training runs on several ranks; this run evaluates graph '%s'" % run["graph"]["name"])
        return serve_run(request_dir, run, prefix)

    if "runs" in request:
        response = {"runs": [serve_one(run, "%d-" % k) for k, run in enumerate(request["runs"])]}
    else:
        response = serve_one(request, "")
    comm.close()
    if comm.rank != 0:
        return 0
    response["torch"] = torch.__version__
    response["ops"] = sorted(LOWERINGS)
    with open(os.path.join(request_dir, "response.json"), "w", encoding="utf-8") as f:
        json.dump(response, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, "python3 -m esm2_torch.run REQUEST_DIR", serve))
