# Shared by the issue-13 reproduction scripts (rbm-cd25.sh, dbm-2layer.sh, dbn-finetune.sh,
# cdbn-svm.sh); sourced, not run. Parses the common options, times the run and writes the
# one-line summary
#   row | published | ours | AIS band | epochs | wall s | device | commit
# to docs/results/reproduction-rows/<row>.txt (full runs) or to OUT/<row>.txt (--smoke).
#
# Options (every script):
#   --device cpu|cuda   backend (default cpu)
#   --smoke             a CPU check of the pipeline: a few hundred rows, 1 epoch, short AIS;
#                       its numbers mean nothing
#   --mnist DIR         MNIST IDX files (default $CRBM_MNIST, else /work/shared/data/mnist)
#   --out DIR           checkpoints, metrics, logs, eval JSON (default out/reproduce/<row>)
# Environment: CRBM (the crbm binary, default build/tools/crbm).
#
# The scripts use `--recipe NAME` on the training commands (crbm/recipes.hpp, docs/recipes.md),
# taken by every training command and by `crbm conv classify` (docs/user-guide.md).

repro_usage() {
  sed -n '2,/^set -euo/p' "scripts/reproduce/$row.sh" | sed '$d' | sed 's/^# \{0,1\}//'
}

# The start of every script: `repro_start ROW "$@"` runs from the repository root, names
# the row and parses the common options.
repro_start() {
  cd "$(dirname "$0")/../.."
  row=$1
  shift
  repro_parse "$@"
}

repro_parse() {
  device=cpu
  smoke=0
  mnist=${CRBM_MNIST:-/work/shared/data/mnist}
  out=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --device) device=${2:?--device needs cpu or cuda}; shift 2 ;;
      --device=*) device=${1#--device=}; shift ;;
      --smoke) smoke=1; shift ;;
      --mnist) mnist=${2:?--mnist needs a directory}; shift 2 ;;
      --out) out=${2:?--out needs a directory}; shift 2 ;;
      -h|--help) repro_usage; exit 0 ;;
      *) echo "$(basename "$0"): unknown argument '$1' (use --device, --smoke, --mnist, --out)" >&2
         exit 2 ;;
    esac
  done
  case "$device" in
    cpu|cuda) ;;
    *) echo "$(basename "$0"): --device '$device' is not cpu or cuda" >&2; exit 2 ;;
  esac
  if [[ ! -d "$mnist" ]]; then
    echo "$(basename "$0"): MNIST directory '$mnist' not found (use --mnist DIR)" >&2
    exit 2
  fi
  out=${out:-out/reproduce/$row}
  crbm=${CRBM:-build/tools/crbm}
  if [[ ! -x "$crbm" ]]; then
    echo "$(basename "$0"): crbm binary '$crbm' not found (build it, or set CRBM)" >&2
    exit 2
  fi
  mkdir -p "$out"
  start_s=$(date +%s)
  summary_dir=docs/results/reproduction-rows
  [[ $smoke -eq 1 ]] && summary_dir=$out
}

# Runs a command with its output in $out/LOG.log; on failure shows the log's tail and stops.
repro_step() {
  local log=$1
  shift
  echo "== $row: $*"
  if ! "$@" >"$out/$log.log" 2>&1; then
    echo "$(basename "$0"): step failed (log $out/$log.log):" >&2
    tail -n 20 "$out/$log.log" >&2
    exit 1
  fi
}

# The device as words for the summary: the GPU's name on cuda, the CPU model otherwise.
repro_device_name() {
  if [[ $device == cuda ]] && command -v nvidia-smi >/dev/null; then
    echo "cuda: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
  else
    echo "cpu: $(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) threads"
  fi
}

repro_commit() {
  local c
  c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD 2>/dev/null || c="$c-dirty"
  echo "$c"
}

# A field of a JSON file (python3, no packages): repro_json FILE KEY [FORMAT].
# A list prints as [a, b] with FORMAT applied to each element; null/absent as n/a.
repro_json() {
  python3 -c 'import json,sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
f = (lambda x: sys.argv[3] % x) if len(sys.argv) > 3 else str
if v is None: print("n/a")
elif isinstance(v, list): print("[" + ", ".join("n/a" if x is None else f(x) for x in v) + "]")
else: print(f(v))' "$@"
}

# repro_summary PUBLISHED OURS BAND EPOCHS: writes and prints the summary line.
repro_summary() {
  local wall=$(( $(date +%s) - start_s ))
  local line="$row | $1 | $2 | $3 | $4 | $wall | $(repro_device_name) | $(repro_commit)"
  [[ $smoke -eq 1 ]] && line="$line | smoke run, not a result"
  mkdir -p "$summary_dir"
  echo "$line" > "$summary_dir/$row.txt"
  echo "$line"
}
