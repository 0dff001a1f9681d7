#!/usr/bin/env bash
# GPU check (about 10 minutes on one GPU): mmcv's ops flavour and one CUDA NMS / RoIAlign, each
# paper's digits config trained 100 iterations with AMP, and the full-scale configs' forward +
# backward steps beside the configs they modify (time ratio, peak memory, host syncs per step).
# Writes benchmarks/results/gpu_check.{md,json}. `--device cpu` runs the same steps on the CPU,
# reduced (CPU timings, said so in the output). Other arguments: python tools/misc/gpu_check.py -h
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-${MMEXT_HOME:-$HOME/.cache/mmext}/venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python)"
cd "$REPO"
exec "$PY" tools/misc/gpu_check.py "$@"
