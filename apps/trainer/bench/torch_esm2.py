"""The PyTorch anchor of the training bench (bench.ts): the same ESM2 model
as the project's default, trained one epoch on the same encoded batches.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 torch_esm2.py DIR/meta.json

DIR/meta.json (written by bench.ts) names the fields, the model and
optimizer settings, and one raw little-endian file per graph input holding
every row of the epoch in the engine's (shuffled) order: i32 ids ([rows] or
[rows, maxLength] with -1 padding), f32 numerics and labels.

The model, as packages/core/src/zoo builds it: one embedding table per
categorical field (dim 16, normal init), multi-valued fields pooled (sum or
mean, padding skipped), the numerics through a learned linear map with
tanh, concatenated in schema order (numerics last); four towers
(256-128-64, ReLU, one sigmoid unit) y1..y4; pCTR = y1, pCTAVR = y1·y2,
pCTCVR = y1·(y2·y3 + (1−y2)·y4); loss = the three entire-space BCEs
(probabilities clamped to [eps, 1−eps]), means over the batch. Adam on the
dense parameters; the embedding tables are sparse (only the batch's rows
get a gradient) and take lazy Adam (torch.optim.SparseAdam) or Adagrad, as
core's SparseEmbeddingTable does; global-norm clipping when clipNorm > 0.

Runs on OMP_NUM_THREADS threads (default 1; the bench pins OpenBLAS to the
same count). Prints one line: RESULT {json} with samples/s over the epoch
(the training loop over the batches; loading the files is not timed), peak
RSS, and the core type OpenBLAS runs its kernels for (openblas_get_corename
of the OpenBLAS this process loaded; null when torch's BLAS is not OpenBLAS).
"""

import ctypes
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn


def load(meta_path):
    with open(meta_path, encoding='utf8') as f:
        meta = json.load(f)
    base = os.path.dirname(meta_path)
    rows = meta['rows']
    arrays = {}
    for name, spec in meta['inputs'].items():
        dtype = np.dtype('<i4') if spec['dtype'] == 'i32' else np.dtype('<f4')
        data = np.fromfile(os.path.join(base, spec['file']), dtype=dtype)
        width = spec['width']
        if data.size != rows * width:
            raise SystemExit(f"{spec['file']}: {data.size} values, expected {rows}×{width}")
        arrays[name] = torch.from_numpy(data.reshape(rows, width) if width > 1 else data)
    return meta, arrays


def openblas_info():
    """(core name, build config) of the OpenBLAS loaded into this process, or (None, None)."""
    with open('/proc/self/maps', encoding='utf8') as f:
        paths = sorted({line.split()[-1] for line in f if '/' in line and ('blas' in line or 'lapack' in line)})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            corename, config = lib.openblas_get_corename, lib.openblas_get_config
        except (OSError, AttributeError):
            continue
        corename.restype = config.restype = ctypes.c_char_p
        return corename().decode(), config().decode().strip()
    return None, None


class Tower(nn.Module):
    def __init__(self, width, units, activation):
        super().__init__()
        layers = []
        for u in units:
            layers += [nn.Linear(width, u), nn.ReLU() if activation == 'relu' else nn.Tanh()]
            width = u
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return torch.sigmoid(self.net(x).squeeze(1))


class Esm2(nn.Module):
    def __init__(self, meta):
        super().__init__()
        m = meta['model']
        self.fields = meta['fields']
        self.tables = nn.ModuleDict()
        width = 0
        numerics = 0
        for field in self.fields:
            key = field['name'].replace('.', '_')
            if field['kind'] == 'categorical':
                table = nn.Embedding(field['rows'], field['dim'], sparse=True)
            elif field['kind'] == 'multiCategorical':
                # One padding row at the end stands for the -1 padding: skipped by the pooling.
                table = nn.EmbeddingBag(field['rows'] + 1, field['dim'], mode=field['pooling'], sparse=True, padding_idx=field['rows'])
            else:
                numerics += 1
                continue
            nn.init.normal_(table.weight, std=m['embeddingInitStd'])
            if field['kind'] == 'multiCategorical':
                with torch.no_grad():
                    table.weight[field['rows']].zero_()
            self.tables[key] = table
            width += field['dim']
        self.numeric = nn.Linear(numerics, m['numericDim']) if numerics else None
        if self.numeric is not None:
            nn.init.xavier_uniform_(self.numeric.weight)
            nn.init.zeros_(self.numeric.bias)
            width += m['numericDim']
        self.towers = nn.ModuleList([Tower(width, m['towers'], m['activation']) for _ in range(4)])
        for tower in self.towers:
            for layer in tower.net:
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def forward(self, batch):
        parts = []
        numerics = []
        for field in self.fields:
            x = batch[field['name']]
            if field['kind'] == 'categorical':
                parts.append(self.tables[field['name'].replace('.', '_')](x.long()))
            elif field['kind'] == 'multiCategorical':
                ids = x.long()
                ids = torch.where(ids < 0, torch.full_like(ids, field['rows']), ids)
                parts.append(self.tables[field['name'].replace('.', '_')](ids))
            else:
                numerics.append(x.unsqueeze(1))
        if self.numeric is not None:
            parts.append(torch.tanh(self.numeric(torch.cat(numerics, 1))))
        h = torch.cat(parts, 1)
        y1, y2, y3, y4 = (t(h) for t in self.towers)
        pctavr = y1 * y2
        pctcvr = y1 * (y2 * y3 + (1 - y2) * y4)
        return y1, pctavr, pctcvr


def bce(p, y, eps):
    q = p.clamp(eps, 1 - eps)
    return -(y * torch.log(q) + (1 - y) * torch.log(1 - q)).mean()


def main():
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    torch.manual_seed(1)
    meta, arrays = load(sys.argv[1])
    m, o = meta['model'], meta['optimizer']
    model = Esm2(meta)
    dense = [p for n, p in model.named_parameters() if not n.startswith('tables.')]
    sparse = list(model.tables.parameters())
    betas = (o['beta1'], o['beta2'])
    emb_lr = o['embeddingLr'] if o.get('embeddingLr', 0) > 0 else o['lr']
    optimizers = [torch.optim.Adam(dense, lr=o['lr'], betas=betas, eps=o['eps'])]
    if o['embeddingOptimizer'] == 'adam':
        optimizers.append(torch.optim.SparseAdam(sparse, lr=emb_lr, betas=betas, eps=o['eps']))
    else:
        optimizers.append(torch.optim.Adagrad(sparse, lr=emb_lr, eps=o['eps']))
    w = m['lossWeights']
    eps = m['bceEps']
    rows, size = meta['rows'], meta['batch']
    click, daction, buy = arrays['click'], arrays['daction'], arrays['buy']
    losses = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    for lo in range(0, rows, size):
        hi = min(rows, lo + size)
        batch = {name: a[lo:hi] for name, a in arrays.items()}
        c, a, b = click[lo:hi], daction[lo:hi], buy[lo:hi]
        pctr, pctavr, pctcvr = model(batch)
        loss = w['ctr'] * bce(pctr, c, eps) + w['ctavr'] * bce(pctavr, c * a, eps) + w['ctcvr'] * bce(pctcvr, c * b, eps)
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        if o['clipNorm'] > 0:
            nn.utils.clip_grad_norm_(dense + sparse, o['clipNorm'])
        for opt in optimizers:
            opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    core, config = openblas_info()
    result = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'openblas_core': core,
        'openblas_config': config,
        'rows': rows,
        'epoch_seconds': seconds,
        'epoch_samples_per_s': rows / seconds,
        'epoch_samples_per_cpu_s': rows / cpu_seconds,
        'first_loss': losses[0],
        'last_loss': float(np.mean(losses[-20:])),
        'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print('RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
