#!/usr/bin/env bash
# Does training in reduced precision cost likelihood? (issue 12, target 6.) Trains one
# 784-H binary RBM per product precision (fp32, tf32, bf16) with the same seed and
# settings, then estimates each model's test log-likelihood with AIS, the evaluation itself
# always in fp32 (so that only the training arithmetic differs), and prints a markdown
# table (also written to OUT/precision-ais.md):
#   | precision | device | train rows | test rows | epochs | train wall s | log Z (AIS) |
#   test mean log P(v) | minus fp32 | within 0.5 nats |
# Usage: scripts/precision_ais.sh [--device cpu|cuda] [--limit N] [--test-limit N]
#          [--epochs E] [--hidden H] [--ais-runs R] [--ais-steps S] [--mnist DIR] [--out DIR]
# Defaults: the issue's setting: cpu, all 60,000 training and 10,000 test images, 20 epochs,
# 500 hidden units, AIS with crbm eval's defaults (100 runs, the 14,500-step schedule).
# Environment: CRBM (the crbm binary, default build/tools/crbm).
set -euo pipefail
device=cpu
limit=0
test_limit=0
epochs=20
hidden=500
ais_runs=""
ais_steps=""
mnist=${CRBM_MNIST:-/work/shared/data/mnist}
out=out/precision-ais
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device=${2:?--device needs cpu or cuda}; shift 2 ;;
    --limit) limit=${2:?--limit needs a row count}; shift 2 ;;
    --test-limit) test_limit=${2:?--test-limit needs a row count}; shift 2 ;;
    --epochs) epochs=${2:?--epochs needs a count}; shift 2 ;;
    --hidden) hidden=${2:?--hidden needs a count}; shift 2 ;;
    --ais-runs) ais_runs=${2:?--ais-runs needs a count}; shift 2 ;;
    --ais-steps) ais_steps=${2:?--ais-steps needs a count}; shift 2 ;;
    --mnist) mnist=${2:?--mnist needs a directory}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$(basename "$0"): unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$device" in
  cpu|cuda) ;;
  *) echo "$(basename "$0"): --device must be cpu or cuda, got '$device'" >&2; exit 2 ;;
esac
crbm=${CRBM:-build/tools/crbm}
[[ -x "$crbm" ]] || { echo "$(basename "$0"): no crbm binary at '$crbm' (set CRBM)" >&2; exit 2; }
mkdir -p "$out"
ais=()
[[ -n "$ais_runs" ]] && ais+=(--ais-runs "$ais_runs")
[[ -n "$ais_steps" ]] && ais+=(--ais-steps "$ais_steps")

table="$out/precision-ais.md"
{
  echo "| precision | device | train rows | test rows | epochs | train wall s | log Z (AIS) | test mean log P(v) | minus fp32 | within 0.5 nats |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} >"$table"
train_rows=$limit
[[ "$limit" == 0 ]] && train_rows=60000  # MNIST's training set
fp32_ll=""
for precision in fp32 tf32 bf16; do
  model="$out/rbm$hidden-$precision.safetensors"
  start=$(date +%s.%N)
  "$crbm" train --data "mnist:$mnist:train" --limit "$limit" --hidden "$hidden" --cd 1 \
    --epochs "$epochs" --batch 100 --lr 0.05 --weight-decay 2e-4 --momentum 0.5 \
    --final-momentum 0.9 --momentum-switch 5 --binarize stochastic --holdout 0 --seed 1 \
    --device "$device" --precision "$precision" --quiet --out "$model" \
    >"$out/train-$precision.log" 2>&1
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  "$crbm" eval "$model" --data "mnist:$mnist:test" --limit "$test_limit" --binarize stochastic \
    --seed 7 --ais --device "$device" --precision fp32 "${ais[@]}" --json "$out/eval-$precision.json" \
    >"$out/eval-$precision.log" 2>&1
  row=$(python3 - "$out/eval-$precision.json" "$precision" "$device" "$train_rows" "$epochs" "$wall" \
    "${fp32_ll:-none}" <<'EOF'
import json, sys
path, precision, device, train_rows, epochs, wall, fp32_ll = sys.argv[1:]
j = json.load(open(path))
ll = j["mean_log_likelihood"]
if ll is None:
    ll_text, diff, ok = "n/a", "n/a", "n/a"
else:
    ll_text = f"{ll:.2f}"
    if fp32_ll == "none":
        diff, ok = "0", "(reference)"
    else:
        d = ll - float(fp32_ll)
        diff, ok = f"{d:+.2f}", ("yes" if abs(d) <= 0.5 else "no")
print(f"| {precision} | {device} | {train_rows} | {j['rows']} | {epochs} | "
      f"{float(wall):.0f} | {j['log_z']:.2f} | {ll_text} | {diff} | {ok} |")
EOF
  )
  if [[ "$precision" == fp32 ]]; then
    fp32_ll=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["mean_log_likelihood"]; print("none" if v is None else v)' "$out/eval-$precision.json")
  fi
  echo "$row" >>"$table"
done
cat "$table"
