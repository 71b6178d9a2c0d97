#!/usr/bin/env bash
# Fine-tune the accurate tier in bf16 on a CUDA machine and print samples/s, peak memory and
# the Lightning/plain-loop ratio (bench/gpu_train.py). Fails clearly without CUDA.
#   bench/gpu_train.sh [--steps 300] [--batch-size 32] [--num-workers 2]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu_train.sh: no CUDA device visible to $PY (torch CPU build or no GPU); this" \
       "benchmark needs a GPU." >&2
  exit 1
fi
export DRIFTWISE_HOME="${DRIFTWISE_HOME:-$PWD/.driftwise}"
exec "$PY" bench/gpu_train.py --require-cuda "$@"
