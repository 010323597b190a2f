#!/usr/bin/env bash
# The main job, end to end on generated data (about a minute on 2 cores):
# generate → fit ESM2 → evaluate → export to ONNX → score with onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/main-job}
rm -rf "$out"
mkdir -p "$out"

echo "== 1. generate: one latent world, separate train / valid / test impressions (with true probabilities)"
pnpm esm2-train data generate --rows 1000000 --seed 1 --world-seed 7 --truth --out "$out/train.parquet"
pnpm esm2-train data generate --rows 100000 --seed 2 --world-seed 7 --truth --out "$out/valid.parquet"
pnpm esm2-train data generate --rows 200000 --seed 3 --world-seed 7 --truth --out "$out/test.parquet"
pnpm esm2-train data inspect "$out/train.parquet"

# One pass over 1 M rows rather than three over 300 k (the same steps): the ID
# embeddings overfit after one pass over the same rows (docs/experiments.md §4).
echo "== 2. fit ESM2 (onnx engine, default size: 9 categorical fields, dim 16, towers 256-128-64), one pass"
pnpm esm2-train fit --data "$out/train.parquet" --valid "$out/valid.parquet" --model esm2 \
  --out "$out/esm2" --epochs 1

echo "== 3. evaluate on held-out test data (metrics.json beside the run)"
pnpm esm2-train eval --model "$out/esm2" --data "$out/test.parquet"

echo "== 4. export to ONNX (checked against the reference interpreter)"
pnpm esm2-train export --model "$out/esm2" --onnx "$out/esm2.onnx"

echo "== 5. score the test file with onnxruntime"
pnpm esm2-score score --model "$out/esm2.onnx" --data "$out/test.parquet" --out "$out/predictions.csv" --keys user_id,item_id
head -5 "$out/predictions.csv"
echo "== done: $out"
