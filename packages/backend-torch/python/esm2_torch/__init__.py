"""esm2_torch: the ESM2 model IR (the Graph JSON of @esm2/core) executed with PyTorch.

``ops.LOWERINGS`` maps every IR op to a torch function; ``graph.run_graph``
runs a graph; ``python3 -m esm2_torch.run REQUEST_DIR`` serves one request
written by @esm2/backend-torch's ``runTorchGraph``.
"""
