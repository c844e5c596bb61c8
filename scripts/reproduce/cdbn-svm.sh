#!/usr/bin/env bash
# Issue 13, row "CDBN features MNIST error" (published 0.82%, Lee et al. 2009, linear SVM):
# trains a two-layer CDBN with the recipe lee09-cdbn (docs/recipes.md), then a linear SVM
# (liblinear, crbm/linear_svm.hpp; the recipe's C) on the pooled features of both layers of
# the 60,000 training images, and its error on the 10,000 test images. Writes the
# checkpoint, metrics, eval JSON and logs into OUT and the summary line to
# docs/results/reproduction-rows/cdbn-svm.txt.
# Usage: scripts/reproduce/cdbn-svm.sh [--device cpu|cuda] [--smoke] [--mnist DIR] [--out DIR]
#   The recipe's epochs (10 per layer) are used as they are.
# Uses `crbm conv train --recipe` and `crbm conv classify --recipe` (the recipe's SVM,
# --json with error_rate).
set -euo pipefail
source "$(dirname "$0")/common.sh"
repro_start cdbn-svm "$@"

train_limit=()
test_limit=()
budget=()
epochs="10 per layer"
if [[ $smoke -eq 1 ]]; then
  train_limit=(--limit 300) test_limit=(--train-limit 300 --test-limit 300) budget=(--epochs 1)
  epochs="1 per layer"
fi

ckpt=$out/cdbn.safetensors
repro_step train "$crbm" conv train --recipe lee09-cdbn --data "mnist:$mnist:train" \
  "${train_limit[@]}" "${budget[@]}" --seed 1 --device "$device" --out "$ckpt" \
  --metrics "$out/cdbn.jsonl"
repro_step classify "$crbm" conv classify "$ckpt" --recipe lee09-cdbn \
  --train-data "mnist:$mnist:train" --test-data "mnist:$mnist:test" "${test_limit[@]}" \
  --seed 1 --device "$device" --json "$out/eval.json"

error=$(repro_json "$out/eval.json" error_rate)
ours=$(python3 -c 'import sys; print("%.2f%%" % (100 * float(sys.argv[1])))' "$error")
repro_summary "0.82%" "$ours test error (linear SVM)" "n/a" "$epochs"
