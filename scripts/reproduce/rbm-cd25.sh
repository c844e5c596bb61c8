#!/usr/bin/env bash
# Issue 13, row "RBM 784-500 CD-25" (published -86.34 nats, Salakhutdinov & Murray 2008):
# trains with the recipe sm08-cd25 (docs/recipes.md) for a budget that fits one 9-minute
# GPU call, then AIS on the 10,000 test images binarized stochastically (seed 7), 100 runs
# at 14,500 and at 100,000 steps. Writes the checkpoint, metrics, eval JSON and logs into
# OUT and the summary line to docs/results/reproduction-rows/rbm-cd25.txt.
# Usage: scripts/reproduce/rbm-cd25.sh [--device cpu|cuda] [--smoke] [--mnist DIR] [--out DIR]
#   EPOCHS (default 400: issue 13 measured about 1.05 s per CD-25 epoch on an H200, so
#   400 epochs + AIS fit 9 minutes; the recipe's own count is 500) overrides the epochs.
# Uses `crbm train --recipe` (docs/user-guide.md, "Recipes").
set -euo pipefail
source "$(dirname "$0")/common.sh"
repro_start rbm-cd25 "$@"

epochs=${EPOCHS:-400}
limit=()
ais_runs=100
ais_steps=(14500 100000)
if [[ $smoke -eq 1 ]]; then
  epochs=1 limit=(--limit 500) ais_runs=4 ais_steps=(500 1000)
fi

ckpt=$out/rbm-cd25.safetensors
repro_step train "$crbm" train --recipe sm08-cd25 --data "mnist:$mnist:train" "${limit[@]}" \
  --epochs "$epochs" --holdout 0 --seed 1 --device "$device" --out "$ckpt" \
  --metrics "$out/rbm-cd25.jsonl"
for steps in "${ais_steps[@]}"; do
  repro_step "eval-$steps" "$crbm" eval "$ckpt" --data "mnist:$mnist:test" "${limit[@]}" \
    --binarize stochastic --seed 7 --ais --ais-runs "$ais_runs" --ais-steps "$steps" \
    --device "$device" --json "$out/eval-$steps.json"
done

short=$out/eval-${ais_steps[0]}.json
long=$out/eval-${ais_steps[1]}.json
ours="$(repro_json "$long" mean_log_likelihood %.2f) ($ais_runs x ${ais_steps[1]} steps;"
ours="$ours $(repro_json "$short" mean_log_likelihood %.2f) at ${ais_steps[0]})"
band="[$(repro_json "$long" mean_log_likelihood_low %.2f), $(repro_json "$long" mean_log_likelihood_high %.2f)]"
repro_summary "-86.34" "$ours" "$band" "$epochs"
