"""Runs an IR graph (the Graph JSON of @esm2/core) with the torch lowerings, in node order."""

import torch

from .ops import LOWERINGS


class GraphError(Exception):
    """A graph or its tensors do not fit together (missing input, wrong shape, unknown op or output)."""


def torch_dtype(dtype):
    """The torch dtype values of an IR dtype are computed in: ids as int64 (what indexing takes), f32 as float32."""
    if dtype == "i32":
        return torch.int64
    if dtype == "f32":
        return torch.float32
    raise GraphError("unknown dtype %r" % (dtype,))


def value_types(graph):
    """IR type of every value: inputs, params and nodes."""
    types = {}
    for item in graph["inputs"] + graph["params"]:
        types[item["name"]] = item["type"]
    for node in graph["nodes"]:
        types[node["id"]] = node["type"]
    return types


def output_refs(graph, outputs):
    """The value each requested output names."""
    refs = []
    for name in outputs:
        if name not in graph["outputs"]:
            raise GraphError("graph '%s' has no output '%s'" % (graph["name"], name))
        refs.append(graph["outputs"][name])
    return refs


def needed_values(graph, refs, given=()):
    """Values the refs depend on: only these are computed (and only their inputs must be given).

    Nodes in ``given`` are taken as they are: their inputs are not needed for them.
    """
    needed = set(refs)
    for node in reversed(graph["nodes"]):
        if node["id"] in needed and node["id"] not in given:
            needed.update(node["inputs"])
    return needed


def _batch_size(graph, tensors):
    batch = None
    for item in graph["inputs"]:
        shape = item["type"]["shape"]
        if "batch" not in shape or item["name"] not in tensors:
            continue
        n = tensors[item["name"]].shape[shape.index("batch")]
        if batch is not None and n != batch:
            raise GraphError("input '%s' has batch size %d, others have %d" % (item["name"], n, batch))
        batch = n
    return 1 if batch is None else batch


def run_graph(graph, tensors, outputs, given=None):
    """Evaluates the graph's named outputs from input and parameter tensors (by name).

    Only the values the outputs need are computed. Tensors are converted to
    the IR's dtypes (ids to int64, the rest to float32); gradients flow from
    whatever tensors the caller marked ``requires_grad``. ``given`` maps node
    ids to values used instead of computing those nodes (the trainer's
    embedding lookups, done outside the graph).
    """
    given = given or {}
    refs = output_refs(graph, outputs)
    needed = needed_values(graph, refs, given)
    batch = _batch_size(graph, tensors)
    env = {}
    for item in graph["inputs"] + graph["params"]:
        name = item["name"]
        if name not in needed:
            continue
        if name not in tensors:
            kind = "input" if item in graph["inputs"] else "parameter"
            raise GraphError("missing %s '%s'" % (kind, name))
        t = tensors[name]
        shape = [batch if d == "batch" else d for d in item["type"]["shape"]]
        if list(t.shape) != shape:
            raise GraphError("'%s' has shape %s, the graph expects %s" % (name, list(t.shape), shape))
        want = torch_dtype(item["type"]["dtype"])
        env[name] = t if t.dtype == want else t.to(want)
    types = value_types(graph)
    for node in graph["nodes"]:
        if node["id"] not in needed:
            continue
        if node["id"] in given:
            env[node["id"]] = given[node["id"]]
            continue
        lowering = LOWERINGS.get(node["op"])
        if lowering is None:
            raise GraphError("node %s: unknown op '%s'" % (node["id"], node["op"]))
        inputs = [env[name] for name in node["inputs"]]
        env[node["id"]] = lowering(inputs, node["attrs"], node, [types[name] for name in node["inputs"]])
    return {name: env[ref] for name, ref in zip(outputs, refs)}
