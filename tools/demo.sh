#!/usr/bin/env bash
# The main job: set up the environment if needed, build the long-tailed digits segmentation data
# (seconds, cached), train the cross-entropy baseline and class-level tilted cross-entropy (TCE,
# t=1; mmext.TiltedCrossEntropyLoss, Eq. 3) on the same data side by side (one process each, ~4
# min on 2 CPU cores), evaluate both with mmext.FairIoUMetric and print their per-class IoU next
# to each other with the fairness keys (worst-class IoU, std, bottom/top 25 %); writes a PNG with
# the per-class IoU bars of both and a few validation images with both predictions.
#
# The runs train and evaluate in the background, their output in $WORK_DIR/{ce,tce}.log and
# $WORK_DIR/{ce,tce}.test.log; meanwhile tools/misc/progress.py shows one line per run (iteration
# / total, loss, ETA from those logs), redrawn in place on a terminal, every 10 % otherwise. A
# failed run's log tail is printed at once, the other run stopped, and the demo exits 1; Ctrl-C
# stops both runs too (tools/misc/background.sh).
#
#   bash tools/demo.sh                       # -> work_dirs/demo/{ce,tce}/..., work_dirs/demo/compare.png
#   DEMO_WORK_DIR=... bash tools/demo.sh     # another output folder
#   bash tools/demo.sh --cfg-options train_cfg.max_iters=200   # extra tools/train.py args (both runs)
#
# What to expect (3-seed study with these models: docs/results/tce_digits.md): class-level TCE
# trades mean IoU for a flatter spread over classes (lower std IoU, higher worst-class IoU).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash tools/setup_env.sh
# this checkout's mmext and tools first (tools/train.py and tools/test.py do not edit sys.path)
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
MMEXT_HOME="${MMEXT_HOME:-$HOME/.cache/mmext}"
MMEXT_VENV="${MMEXT_VENV:-$MMEXT_HOME/venv}"
if [ "$MMEXT_VENV" = "current" ]; then PY="$(command -v python || command -v python3)"; else PY="$MMEXT_VENV/bin/python"; fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}" MPLBACKEND=Agg
CE_CONFIG="${DEMO_CE_CONFIG:-configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py}"
TCE_CONFIG="${DEMO_TCE_CONFIG:-configs/tilted_ce/digits/deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-2k_digits-seg.py}"
WORK_DIR="${DEMO_WORK_DIR:-work_dirs/demo}"

# the terminal steps hide the host packages' known deprecation warnings (pkg_resources,
# build_loss, avg_non_ignore: tools/misc/upstream_warnings.py), never mmext's; the logs keep all
QUIET_WARNINGS="$("$PY" tools/misc/upstream_warnings.py)"

mkdir -p "$WORK_DIR"
echo "[demo] full logs: $WORK_DIR/{ce,tce}.log (training), $WORK_DIR/{ce,tce}.test.log (evaluation)"
echo "[demo] building the digits data once (both runs reuse it)"
PYTHONWARNINGS="$QUIET_WARNINGS" "$PY" -c "from tools.studies.harness import build_datasets; \
build_datasets('$CE_CONFIG')"

NAMES=(ce tce)
PROGRESS_PREFIX='[demo] '
# start_bg NAME LOG CMD... (background step), wait_all STEP (progress lines until all ended, exit 1
# with the log tail of a failed one), stop_all on exit or Ctrl-C
source tools/misc/background.sh

echo "[demo] training CE ($CE_CONFIG) and class-level TCE ($TCE_CONFIG) in parallel -> $WORK_DIR/{ce,tce}"
start_bg ce "$WORK_DIR/ce.log" "$PY" tools/train.py "$CE_CONFIG" --work-dir "$WORK_DIR/ce" "$@"
start_bg tce "$WORK_DIR/tce.log" "$PY" tools/train.py "$TCE_CONFIG" --work-dir "$WORK_DIR/tce" "$@"
wait_all training

RUNS=()
for name in "${NAMES[@]}"; do  # both evaluations in parallel, as the trainings
  if [ "$name" = ce ]; then CONFIG="$CE_CONFIG"; LABEL=CE; else CONFIG="$TCE_CONFIG"; LABEL="TCE class t=1"; fi
  CKPT="$WORK_DIR/$name/$(xargs basename < "$WORK_DIR/$name/last_checkpoint")"
  echo "[demo] evaluating $CKPT"
  start_bg "$name" "$WORK_DIR/$name.test.log" "$PY" tools/test.py "$CONFIG" "$CKPT" \
      --work-dir "$WORK_DIR/$name/test" --out "$WORK_DIR/$name/test/metrics.json"
  RUNS+=(--run "$LABEL=$CONFIG:$CKPT:$WORK_DIR/$name/test/metrics.json")
done
wait_all evaluating
PYTHONWARNINGS="$QUIET_WARNINGS" "$PY" tools/analysis/compare_seg_runs.py "${RUNS[@]}" \
    --out "$WORK_DIR/compare.png" | tee "$WORK_DIR/compare.md"
echo "[demo] table: $WORK_DIR/compare.md, figure: $WORK_DIR/compare.png, metrics: $WORK_DIR/{ce,tce}/test/metrics.json"
