"""One-rank training with the project's training step (packages/core/src/train).

The step is the one core's HostEmbeddingEngine runs (buildTrainStep, one
graph, one worker):

- embedding tables (params of kind ``embedding``) are read only by the
  graph's gather/pooledGather nodes whose ids are graph inputs
  (split-embeddings.ts); their rows are looked up outside autograd and
  enter the graph as leaf tensors, so autograd gives the gradient of every
  looked-up (pooled) row, as the split graph's rows inputs do;
- the losses (``loss`` and its parts) are the values before the update;
- global-norm clipping (``clipNorm`` > 0) scales the dense gradient and the
  per-position rows gradients by clipNorm / max(norm, clipNorm), the norm
  taken over both, in float32 like the compiled step;
- dense parameters: Adam in the folded form of adam.ts (stepSize =
  lr·√(1−β₂ᵗ)/(1−β₁ᵗ), epsHat = ε·√(1−β₂ᵗ)), in float32 like the graph;
- tables (sparse-table.ts): the rows gradients are accumulated per touched
  row (a 'mean' pooled lookup scales by 1/count), 2·embeddingL2·row is added
  on the touched rows, then lazy Adam (global step t) or Adagrad updates
  the touched rows only, with embeddingLr when it is set; as the host does,
  in double precision stored to float32.

The step runs on any number of ranks (esm2_torch.ddp): each rank holds its
rows of the global batch and a replica of every parameter; the loss is
weighted by the rank's share of the global batch; dense gradients are summed
over ranks (all_reduce), the rows gradients and ids all-gathered, the
clipping norm taken over the sum. One rank is the case where every exchange
is the identity.

Tables are dense tensors whose looked-up rows are autograd leaves, not
``nn.EmbeddingBag`` modules with sparse gradients: the project clips the
norm of the pooled rows gradients (each lookup row counted once, as
TensorFlow's IndexedSlices), which a bag's per-id sparse gradient does not
give, and updates rows lazily in double precision; both are exact here.
"""

import math

import torch

from .ddp import Single, split_rows
from .graph import GraphError, run_graph
from .ops import LOWERINGS
from .request import RequestError, read_tensor, write_tensor

HOST_ONLY = "the trainer keeps embedding tables outside the graph and reads them only through gather/pooledGather nodes whose ids are a graph input"


def find_lookups(graph):
    """The embedding tables (name -> param) and their lookups, refusing any other use of a table (as core's findEmbeddingLookups)."""
    tables = {p["name"]: p for p in graph["params"] if p.get("kind") == "embedding"}
    inputs = {i["name"] for i in graph["inputs"]}
    where = "graph '%s'" % graph["name"]
    for output, value in graph["outputs"].items():
        if value in tables:
            raise GraphError("%s: output '%s' is embedding table '%s'; %s" % (where, output, value, HOST_ONLY))
    lookups = []
    for node in graph["nodes"]:
        for position, name in enumerate(node["inputs"]):
            if name not in tables:
                continue
            if node["op"] not in ("gather", "pooledGather") or position != 0:
                raise GraphError("%s: node '%s' (%s) reads embedding table '%s' as operand %d; %s" % (where, node["id"], node["op"], name, position, HOST_ONLY))
            ids = node["inputs"][1]
            if ids not in inputs:
                raise GraphError("%s: node '%s' looks up embedding table '%s' with ids '%s', which is not a graph input; %s" % (where, node["id"], name, ids, HOST_ONLY))
            lookups.append(node)
    return tables, lookups


def adam_scalars(lr, beta1, beta2, eps, t):
    """adam.ts adamScalars: the bias corrections folded into the step size and epsilon (in double)."""
    c2 = math.sqrt(1 - beta2**t)
    return lr * c2 / (1 - beta1**t), eps * c2


def position_weights(node, ids):
    """How much each id of a lookup receives of its row's gradient: 1 (gather, sum), 1/count ('mean'), 0 for padding."""
    if node["op"] == "gather":
        return torch.ones(ids.shape, dtype=torch.float32)
    mask = (ids >= 0).to(torch.float32)
    if node["attrs"]["mode"] == "sum":
        return mask
    return mask / mask.sum(dim=1, keepdim=True).clamp(min=1.0)


def _rows_of(graph, feeds):
    """The batch rows of the feeds (the first batched graph input given)."""
    for item in graph["inputs"]:
        if "batch" in item["type"]["shape"] and item["name"] in feeds:
            return int(feeds[item["name"]].shape[item["type"]["shape"].index("batch")])
    raise RequestError("the feeds hold no batched input of graph '%s'" % graph["name"])


def f32(x):
    return torch.tensor(x, dtype=torch.float32)


class Trainer:
    """The project's training step on this rank of ``comm`` (default: one process): dense Adam in float32, tables updated lazily on their touched rows."""

    def __init__(self, graph, losses, weights, optimizer, comm=None):
        if "loss" not in losses:
            raise RequestError("losses must name the output 'loss' (the objective), got %s" % (losses,))
        self.graph = graph
        self.losses = list(losses)
        self.opt = optimizer
        self.comm = comm or Single()
        self.tables, self.lookups = find_lookups(graph)
        self.dense = [p["name"] for p in graph["params"] if p["name"] not in self.tables]
        for p in graph["params"]:
            if p["name"] not in weights:
                raise RequestError("missing initial weights of parameter '%s'" % p["name"])
            if list(weights[p["name"]].shape) != list(p["type"]["shape"]):
                raise RequestError("parameter '%s' has shape %s, the graph expects %s" % (p["name"], list(weights[p["name"]].shape), p["type"]["shape"]))
        self.params = {name: weights[name].to(torch.float32).clone().requires_grad_(True) for name in self.dense}
        self.m = {name: torch.zeros_like(self.params[name]).detach() for name in self.dense}
        self.v = {name: torch.zeros_like(self.params[name]).detach() for name in self.dense}
        self.table = {name: weights[name].to(torch.float32).clone() for name in self.tables}
        self.first = {name: torch.zeros_like(w) for name, w in self.table.items()}
        self.second = {name: torch.zeros_like(w) for name, w in self.table.items()}
        self.t = 0

    def weights(self):
        """Every parameter by name, in the graph's order."""
        return {p["name"]: (self.params[p["name"]].detach() if p["name"] in self.params else self.table[p["name"]]) for p in self.graph["params"]}

    def state_keys(self):
        """The optimizer state under core's STATE_KEYS (engine-state.ts): name -> (tensor, dtype); checkpoints move between backends."""
        keys = {"step": (torch.tensor(self.t, dtype=torch.int32), "i32")}
        for name in self.dense:
            keys["adam/m/%s" % name] = (self.m[name], "f32")
            keys["adam/v/%s" % name] = (self.v[name], "f32")
        for name in self.tables:
            if self.opt["embeddingOptimizer"] == "adam":
                keys["adam/m/%s" % name] = (self.first[name], "f32")
                keys["adam/v/%s" % name] = (self.second[name], "f32")
            else:
                keys["adagrad/acc/%s" % name] = (self.second[name], "f32")
        return keys

    def set_state(self, state):
        """Restores a state by STATE_KEYS (tensors by key), refusing one of another model or embedding optimizer before changing anything."""
        keys = self.state_keys()
        missing = sorted(set(keys) - set(state))
        extra = sorted(set(state) - set(keys))
        if missing or extra:
            raise RequestError("optimizer state does not match this model and optimizer (embedding optimizer '%s')%s%s" % (
                self.opt["embeddingOptimizer"], "; missing: %s" % ", ".join(missing[:5]) if missing else "", "; unexpected: %s" % ", ".join(extra[:5]) if extra else ""))
        for key, (have, _) in keys.items():
            if key != "step" and state[key].numel() != have.numel():
                raise RequestError("optimizer state '%s' has %d values, expected %d" % (key, state[key].numel(), have.numel()))
        self.t = int(state["step"].reshape(-1)[0])
        for key, (have, _) in keys.items():
            if key != "step":
                have.copy_(state[key].reshape(have.shape).to(torch.float32))

    def step(self, feeds, counts=None):
        """One step on a global batch; returns the loss outputs' values on it, before the update.

        ``feeds`` (inputs by name) are this rank's rows of the global batch;
        ``counts`` the rows of every rank, in rank order (default: this
        rank's alone, one process). Each rank's loss is weighted by its share
        of the global batch (the loss outputs are means over rows), so the
        summed gradients are the gradients of the global batch's loss: the
        step is the one-process step on the whole global batch.
        """
        opt, comm = self.opt, self.comm
        rows = _rows_of(self.graph, feeds)
        counts = [rows] if counts is None else list(counts)
        if len(counts) != comm.world or counts[comm.rank] != rows:
            raise RequestError("this rank (%d of %d) has %d rows, the step's counts say %s" % (comm.rank, comm.world, rows, counts))
        total = sum(counts)
        share = f32(rows / total)
        t = self.t = self.t + 1
        given = {}
        for node in self.lookups:
            table, ids = self.table[node["inputs"][0]], feeds[node["inputs"][1]].to(torch.int64)
            with torch.no_grad():
                rows_of_lookup = LOWERINGS[node["op"]]([table, ids], node["attrs"], node, None)
            given[node["id"]] = rows_of_lookup.requires_grad_(True)
        wrt = [self.params[name] for name in self.dense] + [given[node["id"]] for node in self.lookups]
        if rows > 0:
            tensors = dict(feeds)
            tensors.update(self.params)
            values = run_graph(self.graph, tensors, self.losses, given)
            # A share of exactly 1 (one rank) leaves the loss and its gradients unchanged.
            grads = torch.autograd.grad(values["loss"] * share, wrt, allow_unused=True)
            losses = torch.stack([values[name].detach().reshape(()) * share for name in self.losses])
        else:  # a rank without rows in this (last, small) batch contributes nothing
            grads = [None] * len(wrt)
            losses = torch.zeros(len(self.losses), dtype=torch.float32)
        grads = [torch.zeros_like(x) if g is None else g for x, g in zip(wrt, grads)]
        dense, lookups = grads[: len(self.dense)], grads[len(self.dense) :]
        # One all_reduce: the dense gradients, the sum of squares of this rank's rows gradients
        # (each lookup row counted once: the ranks' rows are distinct), the weighted losses.
        flat = torch.cat([g.reshape(-1) for g in dense] + [torch.stack([(g * g).sum() for g in lookups]).sum().reshape(1) if lookups else torch.zeros(1), losses])
        flat = comm.all_reduce_sum(flat)
        n_dense = flat.shape[0] - 1 - len(self.losses)
        dense_flat, rows_squares, losses = flat[:n_dense], flat[n_dense], flat[n_dense + 1 :]
        dense = [piece.reshape(g.shape) for piece, g in zip(torch.split(dense_flat, [g.numel() for g in dense]), dense)]
        # Every rank gets the global batch's rows gradients and ids, in rank order (= the global batch's order).
        lookups = [comm.all_gather_rows(g, counts) for g in lookups]
        ids = {}
        for node in self.lookups:
            name = node["inputs"][1]
            if name not in ids:
                ids[name] = comm.all_gather_rows(feeds[name].to(torch.int64), counts)
        if opt["clipNorm"] > 0:
            norm = torch.sqrt((dense_flat * dense_flat).sum() + rows_squares)
            limit = f32(opt["clipNorm"])
            scale = limit / torch.maximum(norm, limit)
            dense = [g * scale for g in dense]
            lookups = [g * scale for g in lookups]
        with torch.no_grad():
            self._dense_adam(dense, t)
            self._tables_update(lookups, ids, t)
        return {name: float(value) for name, value in zip(self.losses, losses)}

    def _dense_adam(self, grads, t):
        """train-step.ts denseAdam: the folded form in float32, constants as float32."""
        opt = self.opt
        step_size, eps_hat = (f32(x) for x in adam_scalars(opt["lr"], opt["beta1"], opt["beta2"], opt["eps"], t))
        b1, c1, b2, c2 = f32(opt["beta1"]), f32(1 - opt["beta1"]), f32(opt["beta2"]), f32(1 - opt["beta2"])
        for name, g in zip(self.dense, grads):
            m = self.m[name] * b1 + g * c1
            v = self.v[name] * b2 + (g * g) * c2
            self.params[name] -= (m * step_size) / (torch.sqrt(v) + eps_hat)
            self.m[name], self.v[name] = m, v

    def _tables_update(self, rows_grads, ids_by_input, t):
        """sparse-table.ts accumulate + update: per touched row, L2, then lazy Adam or Adagrad (double, stored float32)."""
        opt = self.opt
        ids_of, grads_of = {}, {}
        for node, g in zip(self.lookups, rows_grads):
            ids = ids_by_input[node["inputs"][1]]
            weights = position_weights(node, ids)
            if ids.dim() == 1:
                ids, weights = ids.unsqueeze(1), weights.unsqueeze(1)
            per_position = (g.unsqueeze(1) * weights.unsqueeze(2)).reshape(-1, g.shape[1])
            valid = ids.reshape(-1) >= 0
            name = node["inputs"][0]
            ids_of.setdefault(name, []).append(ids.reshape(-1)[valid])
            grads_of.setdefault(name, []).append(per_position[valid])
        lr = opt["embeddingLr"] if opt["embeddingLr"] > 0 else opt["lr"]
        l2 = opt["embeddingL2"]
        for name in ids_of:
            ids = torch.cat(ids_of[name])
            touched, slot = torch.unique(ids, return_inverse=True)
            g = torch.zeros((touched.shape[0], self.table[name].shape[1]), dtype=torch.float32).index_add_(0, slot, torch.cat(grads_of[name]))
            w = self.table[name][touched].double()
            g = g.double()
            if l2 > 0:
                g = (g + 2 * l2 * w).float().double()
            if opt["embeddingOptimizer"] == "adam":
                step_size, eps_hat = adam_scalars(lr, opt["beta1"], opt["beta2"], opt["eps"], t)
                m = opt["beta1"] * self.first[name][touched].double() + (1 - opt["beta1"]) * g
                v = opt["beta2"] * self.second[name][touched].double() + (1 - opt["beta2"]) * g * g
                self.first[name][touched] = m.float()
                self.second[name][touched] = v.float()
                self.table[name][touched] = (w - step_size * m / (torch.sqrt(v) + eps_hat)).float()
            elif opt["embeddingOptimizer"] == "adagrad":
                acc = self.second[name][touched].double() + g * g
                self.second[name][touched] = acc.float()
                self.table[name][touched] = (w - lr * g / (torch.sqrt(acc) + opt["eps"])).float()
            else:
                raise RequestError("embeddingOptimizer must be 'adam' or 'adagrad', got %r" % (opt["embeddingOptimizer"],))


OPTIMIZER_KEYS = ("lr", "beta1", "beta2", "eps", "embeddingOptimizer", "embeddingLr", "embeddingL2", "clipNorm")


def serve_train(request_dir, request, prefix="", comm=None):
    """Runs ``{mode: 'train', graph, losses, optimizer, weights, batches: {rows, inputs}}``; answers per-step losses and the final weights.

    ``batches.inputs`` holds each graph input's rows of every step, one after
    another ([Σ rows, …]); ``batches.rows`` is the row count of each step.
    A loss that is not finite is answered as null. On several ranks
    (``comm``), each step's rows are split across them (split_rows) and only
    rank 0 writes the final weights (every rank holds the same).
    """
    comm = comm or Single()
    graph = request["graph"]
    optimizer = request["optimizer"]
    missing = [k for k in OPTIMIZER_KEYS if k not in optimizer]
    if missing:
        raise RequestError("optimizer: missing %s" % ", ".join(missing))
    weights = {name: read_tensor(request_dir, name, spec) for name, spec in request["weights"].items()}
    trainer = Trainer(graph, request["losses"], weights, optimizer, comm)
    rows = [int(n) for n in request["batches"]["rows"]]
    inputs = {name: read_tensor(request_dir, name, spec) for name, spec in request["batches"]["inputs"].items()}
    for name, tensor in inputs.items():
        if tensor.shape[0] != sum(rows):
            raise RequestError("batches: input '%s' has %d rows, the steps have %d" % (name, tensor.shape[0], sum(rows)))
    losses = []
    start = 0
    for k, n in enumerate(rows):
        counts = split_rows(n, comm.world)
        first = start + sum(counts[: comm.rank])
        feeds = {name: tensor[first : first + counts[comm.rank]] for name, tensor in inputs.items()}
        try:
            step = trainer.step(feeds, counts)
        except Exception as e:  # noqa: BLE001  (the step is named, the error kept)
            raise RequestError("step %d: %s: %s" % (k, type(e).__name__, e)) from e
        losses.append({name: (value if math.isfinite(value) else None) for name, value in step.items()})
        start += n
    if comm.rank != 0:
        return None
    final = trainer.weights()
    return {"losses": losses, "weights": {name: write_tensor(request_dir, "%sweight-%d" % (prefix, k), w, "f32") for k, (name, w) in enumerate(final.items())}}
