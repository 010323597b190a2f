"""How each IR op becomes torch operations: one table, forward and backward ops.

Every function takes ``(inputs, attrs, node, types)``: the operands as torch
tensors (f32 as float32, i32 ids as int64), the node's attributes, the node
itself (its ``id`` for messages) and the IR types of the operands, and
returns the node's value. The semantics are those of the reference
interpreter of @esm2/core (packages/core/src/ir/interpret.ts), edge cases
included: padding ids (< 0) are skipped, the mean of nothing is 0, a weighted
mean with weights summing to ≤ 0 is 0, probabilities are clipped in bce.
Every lowering is differentiable by torch's autograd where the IR op is.
"""

import torch


class LoweringError(Exception):
    """An op received values the IR does not define (an id outside its table)."""


def _check_ids(node, ids, rows, allow_padding):
    """Raises for ids outside [0, rows) (padding ids < 0 pass when allowed), as the interpreter does."""
    flat = ids.reshape(-1)
    bad = (flat >= rows) if allow_padding else ((flat < 0) | (flat >= rows))
    if bool(bad.any()):
        k = int(bad.nonzero()[0][0])
        row = k // ids.shape[1] if ids.dim() == 2 else k
        raise LoweringError(
            "node %s (%s): id %d at row %d is outside the table's %d rows" % (node["id"], node["op"], int(flat[k]), row, rows)
        )


def _padding_weights(ids, mode):
    """[n, L] weights of a multi-valued field: 0 for padding, 1 (sum) or 1/count (mean) for real ids."""
    mask = (ids >= 0).to(torch.float32)
    if mode == "sum":
        return mask
    count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    return mask / count


def _safe_ratio(num, den):
    """num / den where den > 0, else 0; the divisor is made safe so neither branch is NaN (nor its gradient)."""
    positive = den > 0
    divisor = torch.where(positive, den, torch.ones_like(den))
    return torch.where(positive, num / divisor, torch.zeros_like(num))


def _scatter_rows(rows, dim, index, updates):
    """A zero [rows, dim] table with updates added at index (duplicates accumulate)."""
    out = torch.zeros((rows, dim), dtype=torch.float32, device=updates.device)
    return out.index_add(0, index, updates)


def _pair_index(f, device):
    """The (i, j), i < j, of f rows in pairwiseDot's order (row-major upper triangle)."""
    return torch.triu_indices(f, f, offset=1, device=device)


def gather(inputs, attrs, node, types):
    table, ids = inputs
    _check_ids(node, ids, table.shape[0], allow_padding=False)
    return table[ids]


def pooled_gather(inputs, attrs, node, types):
    table, ids = inputs
    _check_ids(node, ids, table.shape[0], allow_padding=True)
    safe = torch.where(ids >= 0, ids, torch.zeros_like(ids))
    weights = _padding_weights(ids, attrs["mode"])
    # Padding reads row 0 with weight 0: its gradient is 0 too.
    return (table[safe] * weights.unsqueeze(2)).sum(dim=1)


def matmul(inputs, attrs, node, types):
    a, b = inputs
    if attrs.get("transA"):
        a = a.t()
    if attrs.get("transB"):
        b = b.t()
    return a @ b


def bce(inputs, attrs, node, types):
    # log(1 − q) is log(clip(1 − p)): in f32, 1 − (1 − eps) is not eps (1e-7 would come back
    # as 1.19e-7), and the interpreter's f64 clip is exact. Same reason in bceGrad.
    p, y = inputs
    eps = attrs["eps"]
    log_q = torch.log(p.clamp(eps, 1 - eps))
    log_not_q = torch.log((1 - p).clamp(eps, 1 - eps))
    return -(y * log_q + (1 - y) * log_not_q)


def mean(inputs, attrs, node, types):
    (x,) = inputs
    return x.sum() / max(x.numel(), 1)


def weighted_mean(inputs, attrs, node, types):
    x, w = inputs
    return _safe_ratio((x * w).sum(), w.sum())


def weighted_sum(inputs, attrs, node, types):
    total = None
    for x, weight in zip(inputs, attrs["weights"]):
        term = x * weight
        total = term if total is None else total + term
    return total


def reshape(inputs, attrs, node, types):
    (x,) = inputs
    known = 1
    for d in attrs["shape"]:
        if d != "batch":
            known *= d
    batch = x.numel() // known if known > 0 else 0
    return x.reshape([batch if d == "batch" else d for d in attrs["shape"]])


def constant(inputs, attrs, node, types):
    return torch.tensor(attrs["value"], dtype=torch.float32)


def pairwise_dot(inputs, attrs, node, types):
    (x,) = inputs
    i, j = _pair_index(x.shape[1], x.device)
    gram = x @ x.transpose(1, 2)
    return gram[:, i, j]


def relu_grad(inputs, attrs, node, types):
    dy, x = inputs
    return torch.where(x > 0, dy, torch.zeros_like(dy))


def bce_grad(inputs, attrs, node, types):
    dy, p, y = inputs
    eps = attrs["eps"]
    not_p = 1 - p
    in_range = (p >= eps) & (not_p >= eps)
    safe_p = torch.where(in_range, p, torch.full_like(p, 0.5))
    slope = dy * (safe_p - y) / (safe_p * (1 - safe_p))
    return torch.where(in_range, slope, torch.zeros_like(slope))


def mean_grad(inputs, attrs, node, types):
    dy, x = inputs
    n = x.numel()
    return (dy / max(n, 1)).expand(x.shape).clone()


def weighted_mean_grad(inputs, attrs, node, types):
    dy, w = inputs
    return w * _safe_ratio(dy, w.sum())


def sum_to(inputs, attrs, node, types):
    (x,) = inputs
    target = attrs["shape"]
    lead = x.dim() - len(target)
    axes = [i for i in range(x.dim()) if i < lead or (target[i - lead] == 1 and x.shape[i] != 1)]
    if axes:
        x = x.sum(dim=axes, keepdim=True)
    return x.reshape([x.shape[lead + k] if d == "batch" else d for k, d in enumerate(target)])


def slice_(inputs, attrs, node, types):
    (x,) = inputs
    return x.narrow(attrs["axis"], attrs["start"], attrs["size"])


def scatter_add(inputs, attrs, node, types):
    ids, dy = inputs
    _check_ids(node, ids, attrs["rows"], allow_padding=True)
    keep = ids >= 0
    return _scatter_rows(attrs["rows"], dy.shape[1], ids[keep], dy[keep])


def pooled_scatter_add(inputs, attrs, node, types):
    ids, dy = inputs
    _check_ids(node, ids, attrs["rows"], allow_padding=True)
    keep = ids >= 0
    weights = _padding_weights(ids, attrs["mode"])
    updates = weights.unsqueeze(2) * dy.unsqueeze(1)  # [n, L, D]: each id gets its row's gradient
    return _scatter_rows(attrs["rows"], dy.shape[1], ids[keep], updates[keep])


def pairwise_dot_grad(inputs, attrs, node, types):
    # The symmetric [n, F, F] matrix of dy (zero diagonal) times x: dx_i = Σ_{j≠i} dy(i,j)·x_j.
    dy, x = inputs
    n, f = x.shape[0], x.shape[1]
    i, j = _pair_index(f, x.device)
    full = torch.zeros((n, f, f), dtype=dy.dtype, device=dy.device)
    full[:, i, j] = dy
    full[:, j, i] = dy
    return full @ x


LOWERINGS = {
    "gather": gather,
    "pooledGather": pooled_gather,
    "concat": lambda inputs, attrs, node, types: torch.cat(list(inputs), dim=attrs["axis"]),
    "matmul": matmul,
    "add": lambda inputs, attrs, node, types: inputs[0] + inputs[1],
    "sub": lambda inputs, attrs, node, types: inputs[0] - inputs[1],
    "mul": lambda inputs, attrs, node, types: inputs[0] * inputs[1],
    "oneMinus": lambda inputs, attrs, node, types: 1 - inputs[0],
    "relu": lambda inputs, attrs, node, types: torch.relu(inputs[0]),
    "sigmoid": lambda inputs, attrs, node, types: torch.sigmoid(inputs[0]),
    "tanh": lambda inputs, attrs, node, types: torch.tanh(inputs[0]),
    "bce": bce,
    "mean": mean,
    "weightedMean": weighted_mean,
    "weightedSum": weighted_sum,
    "reshape": reshape,
    "constant": constant,
    "pairwiseDot": pairwise_dot,
    "reluGrad": relu_grad,
    "bceGrad": bce_grad,
    "meanGrad": mean_grad,
    "weightedMeanGrad": weighted_mean_grad,
    "sumTo": sum_to,
    "slice": slice_,
    "scatterAdd": scatter_add,
    "pooledScatterAdd": pooled_scatter_add,
    "pairwiseDotGrad": pairwise_dot_grad,
    "sqrt": lambda inputs, attrs, node, types: torch.sqrt(inputs[0]),
    "div": lambda inputs, attrs, node, types: inputs[0] / inputs[1],
    "sum": lambda inputs, attrs, node, types: inputs[0].sum(),
    "maximum": lambda inputs, attrs, node, types: torch.maximum(inputs[0], inputs[1]),
}
