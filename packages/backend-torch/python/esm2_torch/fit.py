"""``python3 -m esm2_torch.fit REQUEST_JSON``: epochs of training from encoded shards, on one rank or under torchrun.

The request (written by @esm2/backend-torch's trainTorchEpochs):

    {runId, graph, losses, optimizer, batchSize, checkpointEvery,
     data: DIR,                         an `esm2-train data encode` directory
     epochs: [{epoch, seed}, …],        the epochs to train, each with its shuffle seed
     start: {step, weights: {name: spec}, state?: {key: spec}},
     out: DIR}                          where this writes (see below)

Spec paths are relative to the request file's directory; ``out`` is
absolute. Rank 0 reads the request and its tensors and sends them to every
rank (ranks on other machines train what node 0 asked for); every rank
reads the manifest and maps the shards' column files (numpy.memmap), so
``data`` must be a path every machine sees. Epoch e's
order is the data package's: a Fisher–Yates permutation of all rows drawn
from mulberry32(seed), the same as the TypeScript engines' (encodedEpochs);
its global batches are consecutive runs of ``batchSize`` rows of it (the
last one shorter), each split across the ranks (ddp.split_rows), so any
number of ranks sees the same global batches and takes the same steps.

Rank 0 writes, all atomically (a temporary name, then a rename):

- ``out/epoch-<e>/``: after epoch e, ``meta.json`` {runId, epoch, step, rows,
  losses (means over the epoch), seconds, weights: {name: spec}, state:
  {key: spec}} and the raw tensors (spec paths relative to that
  directory) — what the TypeScript side validates
  and turns into the project's checkpoint;
- ``out/last.pt``: every ``checkpointEvery`` steps and at each epoch's end,
  the weights, optimizer state and position. A group torchrun restarts
  after a rank failed (--max-restarts) resumes from it when it belongs to
  this request's runId (rank 0 reads it and sends it to every rank), so
  its epochs end with the weights an uninterrupted run would have;

and prints one JSON line per event on stdout: ``{"event": "progress",
epoch, rows, loss}`` (at most every half second), ``{"event": "epoch",
epoch, dir}`` and ``{"event": "log", message}``. Failures exit non-zero with one ``esm2_torch:`` line on
stderr (3: torch or numpy cannot be imported).
"""

import json
import os
import shutil
import sys
import time

M32 = 0xFFFFFFFF


def uniforms(seed, count):
    """The first ``count`` draws of core's mulberry32(seed) (random.ts), vectorised (its state is a counter): uniforms in [0, 1), TypeScript's sequence."""
    import numpy

    k = numpy.arange(1, count + 1, dtype=numpy.uint64)
    a = ((numpy.uint64(seed & M32) + k * numpy.uint64(0x6D2B79F5)) & numpy.uint64(M32)).astype(numpy.uint32)
    with numpy.errstate(over="ignore"):  # uint32 products wrap, as Math.imul's
        t = (a ^ (a >> numpy.uint32(15))) * (a | numpy.uint32(1))
        t ^= t + (t ^ (t >> numpy.uint32(7))) * (t | numpy.uint32(61))
        return (t ^ (t >> numpy.uint32(14))).astype(numpy.float64) / 4294967296.0


def permutation(n, seed):
    """The data package's seeded Fisher–Yates permutation of 0..n−1 (shards/read.ts): the same order as the TypeScript engines' epochs."""
    import numpy

    draws = uniforms(seed, max(n - 1, 0))
    js = numpy.floor(draws * numpy.arange(n, 1, -1, dtype=numpy.float64)).astype(numpy.int64).tolist()
    p = list(range(n))
    for i, j in zip(range(n - 1, 0, -1), js):
        p[i], p[j] = p[j], p[i]
    return numpy.asarray(p, dtype=numpy.int64)


class Shards:
    """An encoded-shards directory's columns, memory-mapped shard by shard; rows gathered by global row number."""

    def __init__(self, directory):
        import numpy

        path = os.path.join(directory, "manifest.json")
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except FileNotFoundError:
            raise FitError("%s: no such file (not an encoded-shards directory: run esm2-train data encode first)" % path) from None
        if manifest.get("format") != "esm2-encoded-shards":
            raise FitError("%s: not an esm2-encoded-shards manifest" % path)
        self.rows = int(manifest["rows"])
        self.columns = manifest["columns"]
        self.offsets = numpy.cumsum([0] + [int(s["rows"]) for s in manifest["shards"]])
        self.maps = []
        for k, shard in enumerate(manifest["shards"]):
            maps = {}
            for key, c in shard["columns"].items():
                file = os.path.join(directory, c["file"])
                expected = int(numpy.prod(c["shape"])) * 4
                if not os.path.isfile(file) or os.path.getsize(file) != expected:
                    raise FitError("%s: missing or not %d bytes (%s %s of shard %d by %s)" % (file, expected, c["dtype"], c["shape"], k, path))
                maps[key] = numpy.memmap(file, dtype=c["dtype"], mode="r", shape=tuple(c["shape"]))
            self.maps.append(maps)

    def gather(self, key, rows):
        """Column ``key`` at global row numbers ``rows`` (in that order), as a numpy array in native byte order."""
        import numpy

        shard = numpy.searchsorted(self.offsets[1:], rows, side="right")
        local = rows - self.offsets[shard]
        first = self.maps[0][key]
        out = numpy.empty((len(rows),) + first.shape[1:], dtype=first.dtype.newbyteorder("="))
        for s in numpy.unique(shard):
            where = shard == s
            out[where] = self.maps[s][key][local[where]]
        return out


class FitError(Exception):
    """A request or data that cannot be trained on."""


def column_of(item):
    """The shard column a graph input reads (as batchToFeeds): labels by name, features by field name."""
    return ("labels/%s" if item.get("role") == "label" else "features/%s") % item["name"]


def feeds_of(graph, shards, rows):
    """The graph inputs of the rows (global row numbers) as tensors of the graph's shapes."""
    import torch

    feeds = {}
    for item in graph["inputs"]:
        key = column_of(item)
        if key not in shards.columns:
            raise FitError("graph input '%s' needs column '%s', which the encoded data lacks" % (item["name"], key))
        data = shards.gather(key, rows)
        shape = [len(rows) if d == "batch" else d for d in item["type"]["shape"]]
        feeds[item["name"]] = torch.from_numpy(data.reshape(shape))
    return feeds


def write_atomically(final, fill):
    """Fills a temporary sibling directory with ``fill(dir)`` and renames it to ``final`` (replacing an older one)."""
    tmp = "%s.tmp-%d" % (final, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    fill(tmp)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(tmp, final)


def save_tensors(directory, tensors, stem):
    """Raw little-endian files of (tensor, dtype) by name in ``directory``; returns their specs (paths relative to it)."""
    from .request import FILE_DTYPES

    specs = {}
    for k, (name, (t, dtype)) in enumerate(tensors.items()):
        array = t.detach().cpu().numpy().astype(FILE_DTYPES[dtype])
        file = "%s-%d.bin" % (stem, k)
        with open(os.path.join(directory, file), "wb") as f:
            f.write(array.tobytes())
        specs[name] = {"file": file, "dtype": dtype, "shape": list(array.shape)}
    return specs


def fail_injected(comm, step):
    """ESM2_TORCH_FAIL_AT=RANK:STEP makes that rank exit at that global step in a group's first attempt (restart tests)."""
    from . import error_prefix

    spec = os.environ.get("ESM2_TORCH_FAIL_AT")
    if not spec or os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0":
        return
    rank, at = (int(x) for x in spec.split(":"))
    if comm.rank == rank and step == at:
        print("%sexits at step %d (ESM2_TORCH_FAIL_AT)" % (error_prefix(), step), file=sys.stderr, flush=True)
        os._exit(17)


def fit(request_path):
    import torch

    from .ddp import communicator, split_rows
    from .request import read_tensor
    from .train import OPTIMIZER_KEYS, Trainer

    comm = communicator()
    # Rank 0's request and start tensors, sent to every rank: ranks on other machines train what node 0 asked for.
    payload = None
    if comm.rank == 0:
        base = os.path.dirname(os.path.abspath(request_path))
        with open(request_path, encoding="utf-8") as f:
            request = json.load(f)
        start = request["start"]
        payload = (
            request,
            {name: read_tensor(base, name, spec) for name, spec in start["weights"].items()},
            {key: read_tensor(base, key, spec) for key, spec in start["state"].items()} if start.get("state") else None,
        )
    request, weights, state = comm.broadcast(payload)
    start = request["start"]
    missing = [k for k in OPTIMIZER_KEYS if k not in request["optimizer"]]
    if missing:
        raise FitError("optimizer: missing %s" % ", ".join(missing))
    batch_size = int(request["batchSize"])
    every = int(request.get("checkpointEvery") or 0)
    out = request["out"]
    graph = request["graph"]
    shards = Shards(request["data"])
    trainer = Trainer(graph, request["losses"], weights, request["optimizer"], comm)
    if state is not None:
        trainer.set_state(state)
    step = int(start["step"])
    # Where a restarted group picks up: rank 0's last checkpoint of this request, if any, sent to every
    # rank (on other machines, ranks see their own node's directory, not rank 0's).
    last = os.path.join(out, "last.pt")
    resume = None
    if comm.rank == 0 and os.path.exists(last):
        saved = torch.load(last)
        resume = saved if saved["runId"] == request["runId"] else None
    resume = comm.broadcast(resume)
    if resume is not None:
        for name, w in resume["weights"].items():
            (trainer.params[name].data if name in trainer.params else trainer.table[name]).copy_(w)
        trainer.set_state(resume["state"])
        step = resume["step"]

    def emit(event):
        if comm.rank == 0:
            print(json.dumps(event), flush=True)

    if comm.rank == 0:
        os.makedirs(out, exist_ok=True)
    if resume is not None:
        emit({"event": "log", "message": "torch: a restarted group (restart %s) resumes from its checkpoint at epoch %d, step %d" % (os.environ.get("TORCHELASTIC_RESTART_COUNT", "?"), resume["epoch"], step)})

    def checkpoint(epoch, done, sums, rows, seconds):
        if comm.rank != 0:
            return
        tmp = "%s.tmp-%d" % (last, os.getpid())
        torch.save({
            "runId": request["runId"], "epoch": epoch, "done": done, "step": step, "sums": sums, "rows": rows, "seconds": seconds,
            "weights": {name: w.clone() for name, w in trainer.weights().items()},
            "state": {key: t.clone() for key, (t, _) in trainer.state_keys().items()},
        }, tmp)
        os.replace(tmp, last)

    for spec in request["epochs"]:
        epoch = int(spec["epoch"])
        if resume is not None and epoch < resume["epoch"]:
            continue
        order = permutation(shards.rows, int(spec["seed"]))
        batches = (shards.rows + batch_size - 1) // batch_size
        first, sums, rows, seconds = 0, {name: 0.0 for name in request["losses"]}, 0, 0.0
        if resume is not None and epoch == resume["epoch"]:
            first, sums, rows, seconds = resume["done"], dict(resume["sums"]), resume["rows"], resume["seconds"]
        t0 = time.perf_counter() - seconds
        shown = 0.0
        for k in range(first, batches):
            chunk = order[k * batch_size : (k + 1) * batch_size]
            counts = split_rows(len(chunk), comm.world)
            mine = chunk[sum(counts[: comm.rank]) : sum(counts[: comm.rank + 1])]
            fail_injected(comm, step + 1)
            losses = trainer.step(feeds_of(graph, shards, mine), counts)
            step += 1
            rows += len(chunk)
            for name, value in losses.items():
                sums[name] += value * len(chunk)
            now = time.perf_counter()
            if now - shown >= 0.5 or k == batches - 1:
                shown = now
                emit({"event": "progress", "epoch": epoch, "rows": rows, "loss": losses["loss"]})
            if every > 0 and (k + 1) % every == 0 and k + 1 < batches:
                checkpoint(epoch, k + 1, sums, rows, now - t0)
        seconds = time.perf_counter() - t0
        if comm.rank == 0:
            meta = {"runId": request["runId"], "epoch": epoch, "step": step, "rows": rows, "seconds": seconds,
                    "losses": {name: s / rows for name, s in sums.items()}}
            final = os.path.join(out, "epoch-%d" % epoch)

            def fill(directory):
                meta["weights"] = save_tensors(directory, {name: (w, "f32") for name, w in trainer.weights().items()}, "weight")
                meta["state"] = save_tensors(directory, trainer.state_keys(), "state")
                with open(os.path.join(directory, "meta.json"), "w", encoding="utf-8") as f:
                    json.dump(meta, f)

            write_atomically(final, fill)
        # Announced before the next epoch's start is saved: a group restarted in between trains the epoch's
        # end again and announces it twice (the TypeScript side takes the first), never not at all.
        emit({"event": "epoch", "epoch": epoch, "dir": "epoch-%d" % epoch})
        checkpoint(epoch + 1, 0, {name: 0.0 for name in request["losses"]}, 0, 0.0)
    comm.close()
    return 0


if __name__ == "__main__":
    from . import main

    sys.exit(main(sys.argv, "python3 -m esm2_torch.fit REQUEST_JSON", fit))
