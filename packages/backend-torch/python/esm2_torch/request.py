"""One graph run of a request: tensors read from raw files, outputs and gradients written back."""

import os

import numpy
import torch

from .graph import run_graph, value_types

FILE_DTYPES = {"f32": "<f4", "i32": "<i4"}


class RequestError(Exception):
    """A request that does not fit its graph or files."""


def read_tensor(request_dir, name, spec):
    """A tensor from its raw little-endian file, as written by the TypeScript side."""
    if spec.get("dtype") not in FILE_DTYPES:
        raise RequestError("tensor '%s': dtype must be f32 or i32, got %r" % (name, spec.get("dtype")))
    path = os.path.join(request_dir, spec["file"])
    data = numpy.fromfile(path, dtype=FILE_DTYPES[spec["dtype"]])
    size = int(numpy.prod(spec["shape"], dtype=numpy.int64))
    if data.size != size:
        raise RequestError("%s: %d elements for tensor '%s' of shape %s" % (path, data.size, name, spec["shape"]))
    return torch.from_numpy(data.astype(data.dtype.newbyteorder("="), copy=False).reshape(spec["shape"]))


def write_tensor(request_dir, stem, tensor, dtype):
    """Writes a tensor as raw little-endian f32 or i32 to outputs/<stem>.bin; returns its description."""
    array = tensor.detach().cpu().numpy().astype(FILE_DTYPES[dtype])
    file = "outputs/%s.bin" % stem
    with open(os.path.join(request_dir, file), "wb") as f:
        f.write(array.tobytes())
    return {"file": file, "dtype": dtype, "shape": list(array.shape)}


def serve_run(request_dir, request, prefix):
    """Runs one ``{graph, tensors, outputs, grads?}``; files are named outputs/<prefix><k>.bin."""
    graph = request["graph"]
    outputs = list(request["outputs"])
    grads = request.get("grads")
    tensors = {name: read_tensor(request_dir, name, spec) for name, spec in request["tensors"].items()}
    types = value_types(graph)
    wrt = list(grads["wrt"]) if grads else []
    for name in wrt:
        if name not in tensors or types.get(name, {}).get("dtype") != "f32":
            raise RequestError("grads: '%s' is not an f32 input or parameter given in tensors" % name)
        tensors[name] = tensors[name].to(torch.float32).requires_grad_(True)
    names = outputs + ([grads["loss"]] if grads and grads["loss"] not in outputs else [])
    with torch.set_grad_enabled(bool(grads)):
        values = run_graph(graph, tensors, names)
    response = {"outputs": {}, "grads": {}}
    stems = ("%s%d" % (prefix, k) for k in range(len(wrt) + len(outputs)))
    if grads:
        loss = values[grads["loss"]]
        if loss.dim() != 0:
            raise RequestError("grads: output '%s' must be a scalar, has shape %s" % (grads["loss"], list(loss.shape)))
        results = torch.autograd.grad(loss, [tensors[name] for name in wrt], allow_unused=True)
        for name, g in zip(wrt, results):
            if g is None:
                raise RequestError("grads: '%s' does not affect '%s'" % (name, grads["loss"]))
            response["grads"][name] = write_tensor(request_dir, next(stems), g, "f32")
    for name in outputs:
        dtype = types[graph["outputs"][name]]["dtype"]
        response["outputs"][name] = write_tensor(request_dir, next(stems), values[name], dtype)
    return response
