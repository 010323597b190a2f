"""A learnable ceiling for CTR AUC on generated data: a factorization
machine, the generator's own functional form for clicks (per-field biases
plus pairwise dot products of field vectors; the generator's click logit is
1.2·user·item + user and item biases + tag, gender × category and hour
terms), trained one pass in PyTorch on the raw ids. Whatever it cannot learn
from N rows, no model of the same data is expected to: the oracle AUC uses
the hidden vectors themselves.

    node scripts/ceiling/export.mjs gen/train.parquet gen/train.txt   # and valid, test
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ceiling/fm.py gen/train.txt gen/valid.txt gen/test.txt \
        [--dim 8] [--lr 1e-3] [--l2 1e-4] [--epochs 1] [--every 2000000]

Prints validation and test CTR AUC every --every training rows and at the
end of each epoch (Adam, batch 1024, 1 thread).
"""

import argparse
import time

import numpy as np
import torch


def load(path):
    a = np.fromfile(path, sep=' ', dtype=np.int64)
    if a.size % 10:
        raise SystemExit(f'{path}: {a.size} values, not rows of 10 (nine ids and click)')
    a = a.reshape(-1, 10)
    return torch.from_numpy(a[:, :9].copy()), torch.from_numpy(a[:, 9].astype(np.float32))


def auc(y, p):
    """Mann–Whitney AUC with midranks for ties."""
    order = np.argsort(p, kind='mergesort')
    ps = p[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(ps):
        j = i
        while j + 1 < len(ps) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n1 = y.sum()
    n0 = len(y) - n1
    return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


class FM(torch.nn.Module):
    def __init__(self, sizes, dim):
        super().__init__()
        self.bias = torch.nn.ModuleList([torch.nn.Embedding(n, 1) for n in sizes])
        self.vec = torch.nn.ModuleList([torch.nn.Embedding(n, dim) for n in sizes])
        for e in self.bias:
            torch.nn.init.zeros_(e.weight)
        for e in self.vec:
            torch.nn.init.normal_(e.weight, std=0.01)
        self.c = torch.nn.Parameter(torch.tensor([-3.0]))

    def forward(self, x):
        lin = sum(e(x[:, j]).squeeze(1) for j, e in enumerate(self.bias))
        v = torch.stack([e(x[:, j]) for j, e in enumerate(self.vec)], 1)
        return self.c + lin + 0.5 * (v.sum(1) ** 2 - (v ** 2).sum(1)).sum(1)

    def l2(self, x):
        return sum((e(x[:, j]) ** 2).sum() for j, e in enumerate(self.vec)) + sum((e(x[:, j]) ** 2).sum() for j, e in enumerate(self.bias))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('train')
    ap.add_argument('valid')
    ap.add_argument('test')
    ap.add_argument('--dim', type=int, default=8)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--l2', type=float, default=1e-4)
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--every', type=int, default=2_000_000)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    t0 = time.time()
    (xtr, ytr), (xva, yva), (xte, yte) = load(a.train), load(a.valid), load(a.test)
    sizes = (torch.cat([xtr, xva, xte]).max(0).values + 1).tolist()
    model = FM(sizes, a.dim)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    bce = torch.nn.BCEWithLogitsLoss()

    def evaluate(x, y):
        with torch.no_grad():
            p = torch.cat([model(x[i:i + 65536]) for i in range(0, len(x), 65536)]).numpy()
        return auc(y.numpy(), p)

    def report(what):
        print(f'{what}: valid ctr_auc {evaluate(xva, yva):.4f}  test ctr_auc {evaluate(xte, yte):.4f}  ({time.time() - t0:.0f} s)', flush=True)

    print(f'{len(xtr)} training rows, dim {a.dim}, lr {a.lr}, l2 {a.l2}', flush=True)
    seen = 0
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 1024):
            idx = perm[i:i + 1024]
            x = xtr[idx]
            loss = bce(model(x), ytr[idx])
            if a.l2 > 0:
                loss = loss + a.l2 * model.l2(x) / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            before, seen = seen, seen + len(idx)
            if seen // a.every > before // a.every and seen < len(xtr) * (epoch + 1):
                report(f'{seen} rows')
        report(f'epoch {epoch + 1} ({seen} rows)')


if __name__ == '__main__':
    main()
