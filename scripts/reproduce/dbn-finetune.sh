#!/usr/bin/env bash
# Issue 13, row "DBN fine-tuned MNIST error" (published 1.2%, Hinton & Salakhutdinov 2006):
# pretrains a 784-500-500-2000 DBN with the recipe hs06-dbn (docs/recipes.md), fine-tunes
# it as a 784-500-500-2000-10 classifier with the same recipe (SGD where the authors used
# conjugate gradients: one of the recipe's printed gaps), then the test error on the 10,000
# test images. Writes the checkpoints, the fine-tuning JSON, the eval JSON and logs into OUT
# and the summary line to docs/results/reproduction-rows/dbn-finetune.txt.
# Usage: scripts/reproduce/dbn-finetune.sh [--device cpu|cuda] [--smoke] [--mnist DIR] [--out DIR]
#   The recipe's epochs (50 per RBM, 200 of fine-tuning) are used as they are.
# Uses `crbm dbn-train --recipe` and `crbm finetune --recipe` (docs/user-guide.md, "Recipes").
set -euo pipefail
source "$(dirname "$0")/common.sh"
repro_start dbn-finetune "$@"

limit=()
budget=()
epochs="50 per layer + 200 fine-tuning"
if [[ $smoke -eq 1 ]]; then
  limit=(--limit 500) budget=(--epochs 1) epochs="1 per layer + 1 fine-tuning"
fi

dbn=$out/dbn.safetensors
mlp=$out/mlp.safetensors
repro_step pretrain "$crbm" dbn-train --recipe hs06-dbn --data "mnist:$mnist:train" \
  "${limit[@]}" "${budget[@]}" --seed 1 --device "$device" --out "$dbn"
repro_step finetune "$crbm" finetune --recipe hs06-dbn --dbn "$dbn" --data "mnist:$mnist:train" \
  "${limit[@]}" "${budget[@]}" --test "mnist:$mnist:test" --seed 1 --device "$device" \
  --out "$mlp" --json "$out/finetune.json"
repro_step eval "$crbm" deep-eval "$mlp" --data "mnist:$mnist:test" "${limit[@]}" \
  --device "$device" --json "$out/eval.json"

error=$(repro_json "$out/eval.json" error_rate)
ours=$(python3 -c 'import sys; print("%.2f%%" % (100 * float(sys.argv[1])))' "$error")
repro_summary "1.2%" "$ours test error" "n/a" "$epochs"
