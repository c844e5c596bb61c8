#!/usr/bin/env bash
# The whole one-epoch process on MNIST 784-500, start to exit: `crbm train` (CD-1, batch
# 100, lr 0.05, one thread; its defaults hold out 10% and train on 54,000 rows) against
# scikit-learn's BernoulliRBM (n_iter=1, batch 100, lr 0.05, all 60,000 rows, loaded from
# the same gzip IDX file and scaled to [0, 1]). Both with OPENBLAS_NUM_THREADS=1 and
# OMP_NUM_THREADS=1; runs interleaved (the machine is shared), medians printed.
#   usage: bench/startup_vs_sklearn.sh CRBM [RUNS] [PYTHON]
#   CRBM    the crbm binary (e.g. build/tools/crbm)
#   RUNS    interleaved pairs (default 5)
#   PYTHON  a python with numpy and scikit-learn (default /tmp/startup-venv/bin/python:
#           python3 -m venv /tmp/startup-venv && /tmp/startup-venv/bin/pip install scikit-learn numpy)
#   BASELINE (environment) another crbm binary (e.g. main's) timed in the same interleave
#   MNIST_DIR (environment) the directory of train-images-idx3-ubyte.gz (default
#           /work/shared/data/mnist)
set -euo pipefail
crbm=${1:?usage: startup_vs_sklearn.sh CRBM [RUNS] [PYTHON]}
runs=${2:-5}
python=${3:-/tmp/startup-venv/bin/python}
mnist=${MNIST_DIR:-/work/shared/data/mnist}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/sk.py" <<'PY'
import gzip, sys
import numpy as np
from sklearn.neural_network import BernoulliRBM
with gzip.open(sys.argv[1] + "/train-images-idx3-ubyte.gz", "rb") as f:
    raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
x = raw.reshape(-1, 784).astype(np.float32) / np.float32(255)
BernoulliRBM(n_components=500, batch_size=100, n_iter=1, learning_rate=0.05,
             random_state=0).fit(x)
PY

# wall user sys of one command (GNU time's format), its output kept in $work/last.log
timed() {
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" > "$work/last.log" 2>&1
  cat "$work/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# --profile-startup where the binary has it (older ones: the whole process only).
profile=()
if "$crbm" train --help 2>/dev/null | grep -q -- --profile-startup; then profile=(--profile-startup); fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/crbm"
: > "$work/sk"
: > "$work/base"
for i in $(seq "$runs"); do
  c=$(timed "$crbm" train --data "mnist:$mnist" --epochs 1 --hidden 500 --threads 1 \
    "${profile[@]}" --out "$work/m.safetensors")
  # "startup: wall W s (+w)  cpu C s (+c)  first update ...": W and C
  nums=($(grep 'startup: .*first update' "$work/last.log" | grep -o '[0-9]\+\.[0-9]\+' || true))
  first="${nums[0]:-0}/${nums[2]:-0}"
  b=""
  if [[ -n "${BASELINE:-}" ]]; then
    b=$(timed "$BASELINE" train --data "mnist:$mnist" --epochs 1 --hidden 500 --threads 1 \
      --out "$work/b.safetensors")
    echo "$b" >> "$work/base"
  fi
  s=$(timed "$python" "$work/sk.py" "$mnist")
  echo "run $i: crbm wall/user/sys $c (first update at wall/cpu $first s) | sklearn $s${b:+ | baseline $b}"
  echo "$c $first" | tr '/' ' ' >> "$work/crbm"
  echo "$s" >> "$work/sk"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cw=$(awk '{print $1}' "$work/crbm" | median)
cc=$(awk '{print $2 + $3}' "$work/crbm" | median)
cf=$(awk '{print $4}' "$work/crbm" | median)
cfc=$(awk '{print $5}' "$work/crbm" | median)
sw=$(awk '{print $1}' "$work/sk" | median)
sc=$(awk '{print $2 + $3}' "$work/sk" | median)
echo "median crbm:    wall ${cw} s, cpu ${cc} s, first update at ${cf} s wall, ${cfc} s cpu"
echo "median sklearn: wall ${sw} s, cpu ${sc} s"
if [[ -s "$work/base" ]]; then
  bw=$(awk '{print $1}' "$work/base" | median)
  bc=$(awk '{print $2 + $3}' "$work/base" | median)
  echo "median baseline: wall ${bw} s, cpu ${bc} s"
fi
awk -v a="$sw" -v b="$cw" -v c="$sc" -v d="$cc" \
  'BEGIN {printf "sklearn / crbm: %.2fx (wall), %.2fx (cpu)\n", a / b, c / d}'
