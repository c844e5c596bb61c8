#!/usr/bin/env bash
# The MNIST RBM likelihood table (Salakhutdinov & Murray 2008 setting): 784-500
# RBMs trained with CD-1, CD-3 and CD-25, then AIS (100 runs x 14,500 steps) on
# the 10,000 test images binarized stochastically. Writes checkpoints, metrics
# (with a 1,000-step AIS estimate every 10 epochs), logs and eval JSON into OUT.
# Usage: scripts/reproduce/mnist_rbm500.sh MNIST_DIR [OUT] [DEVICE] ["K:EPOCHS ..."]
set -euo pipefail
mnist=${1:?usage: $0 MNIST_DIR [OUT] [cpu|cuda] ["1:50 3:30 25:12"]}
out=${2:-out/mnist-rbm500}
device=${3:-cpu}
runs=${4:-"1:50 3:30 25:12"}
crbm=${CRBM:-build/tools/crbm}
mkdir -p "$out"
for run in $runs; do
  k=${run%%:*}
  epochs=${run##*:}
  /usr/bin/time -f "train_wall %e s" "$crbm" train --data "mnist:$mnist:train" --hidden 500 \
    --cd "$k" --epochs "$epochs" --batch 100 --lr 0.05 --weight-decay 2e-4 --momentum 0.5 \
    --final-momentum 0.9 --momentum-switch 5 --binarize stochastic --holdout 0 --seed 1 \
    --eval-every 10 --eval-ais-steps 1000 --device "$device" \
    --out "$out/rbm500-cd$k.safetensors" --metrics "$out/rbm500-cd$k.jsonl" \
    --filters "$out/rbm500-cd$k-filters.png" >"$out/train-cd$k.log" 2>&1
  /usr/bin/time -f "eval_wall %e s" "$crbm" eval "$out/rbm500-cd$k.safetensors" \
    --data "mnist:$mnist:test" --binarize stochastic --seed 7 --device "$device" \
    --json "$out/eval-cd$k.json" >"$out/eval-cd$k.log" 2>&1
done
