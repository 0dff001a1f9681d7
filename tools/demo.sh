#!/usr/bin/env bash
# The main job: set up the environment if needed, build the long-tailed digits segmentation data
# (seconds, cached), train the cross-entropy baseline and class-level tilted cross-entropy (TCE,
# t=1; mmext.TiltedCrossEntropyLoss, Eq. 3) on the same data side by side (one process each, ~4
# min on 2 CPU cores), evaluate both with mmext.FairIoUMetric and print their per-class IoU next
# to each other with the fairness keys (worst-class IoU, std, bottom/top 25 %); writes a PNG with
# the per-class IoU bars of both and a few validation images with both predictions.
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
MMEXT_HOME="${MMEXT_HOME:-$HOME/.cache/mmext}"
MMEXT_VENV="${MMEXT_VENV:-$MMEXT_HOME/venv}"
if [ "$MMEXT_VENV" = "current" ]; then PY="$(command -v python || command -v python3)"; else PY="$MMEXT_VENV/bin/python"; fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}" MPLBACKEND=Agg
CE_CONFIG="${DEMO_CE_CONFIG:-configs/tilted_ce/digits/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py}"
TCE_CONFIG="${DEMO_TCE_CONFIG:-configs/tilted_ce/digits/deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-2k_digits-seg.py}"
WORK_DIR="${DEMO_WORK_DIR:-work_dirs/demo}"

mkdir -p "$WORK_DIR"
echo "[demo] building the digits data once (both runs reuse it)"
"$PY" -c "import sys; sys.path.insert(0, '.'); from tools.experiments.harness import build_datasets; build_datasets('$CE_CONFIG')"

NAMES=(ce tce)
FAIL=0
# wait_all STEP LOG_SUFFIX: wait for PIDS[i], the STEP of run NAMES[i]; print the log of each
# failed one ($WORK_DIR/<name><LOG_SUFFIX>) and stop if any failed
wait_all() {
  local i
  for i in "${!NAMES[@]}"; do
    wait "${PIDS[$i]}" || {
      echo "[demo] $1 ${NAMES[$i]} failed, see $WORK_DIR/${NAMES[$i]}$2"
      tail -20 "$WORK_DIR/${NAMES[$i]}$2"
      FAIL=1
    }
  done
  [ "$FAIL" = 0 ] || exit 1
}

echo "[demo] training CE ($CE_CONFIG) and class-level TCE ($TCE_CONFIG) in parallel -> $WORK_DIR/{ce,tce} (logs: $WORK_DIR/{ce,tce}.log)"
PIDS=()
"$PY" tools/train.py "$CE_CONFIG" --work-dir "$WORK_DIR/ce" "$@" > "$WORK_DIR/ce.log" 2>&1 &
PIDS+=($!)
"$PY" tools/train.py "$TCE_CONFIG" --work-dir "$WORK_DIR/tce" "$@" > "$WORK_DIR/tce.log" 2>&1 &
PIDS+=($!)
wait_all training .log

RUNS=()
PIDS=()
for name in "${NAMES[@]}"; do  # both evaluations in parallel, as the trainings
  if [ "$name" = ce ]; then CONFIG="$CE_CONFIG"; LABEL=CE; else CONFIG="$TCE_CONFIG"; LABEL="TCE class t=1"; fi
  CKPT="$WORK_DIR/$name/$(xargs basename < "$WORK_DIR/$name/last_checkpoint")"
  echo "[demo] evaluating $CKPT"
  "$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/$name/test" \
      --out "$WORK_DIR/$name/test/metrics.json" > "$WORK_DIR/$name.test.log" 2>&1 &
  PIDS+=($!)
  RUNS+=(--run "$LABEL=$CONFIG:$CKPT:$WORK_DIR/$name/test/metrics.json")
done
wait_all evaluating .test.log
"$PY" tools/analysis/compare_seg_runs.py "${RUNS[@]}" --out "$WORK_DIR/compare.png" | tee "$WORK_DIR/compare.md"
echo "[demo] table: $WORK_DIR/compare.md, figure: $WORK_DIR/compare.png, metrics: $WORK_DIR/{ce,tce}/test/metrics.json"
