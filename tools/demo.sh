#!/usr/bin/env bash
# The main job: set up the environment if needed, build the long-tailed digits segmentation data
# (seconds, cached), train the demo segmenter for a few minutes on the CPU, then evaluate the
# final checkpoint and print per-class IoU with the fairness metrics.
#
# The default config trains the tiny DeepLabV3+ with class-level tilted cross-entropy (TCE, t=1;
# mmext.TiltedCrossEntropyLoss) and evaluates it with mmext.FairIoUMetric. Other configs:
#   DEMO_CONFIG=configs/tilted_ce/deeplabv3plus_r18-tiny_mcce_1xb8-2k_digits-seg.py bash tools/demo.sh
#   (plain cross-entropy baseline), DEMO_WORK_DIR=... to change the output folder.
#   bash tools/demo.sh [extra tools/train.py args, e.g. --cfg-options train_cfg.max_iters=200]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash tools/setup_env.sh
MMEXT_HOME="${MMEXT_HOME:-$HOME/.cache/mmext}"
MMEXT_VENV="${MMEXT_VENV:-$MMEXT_HOME/venv}"
if [ "$MMEXT_VENV" = "current" ]; then PY="$(command -v python || command -v python3)"; else PY="$MMEXT_VENV/bin/python"; fi
CONFIG="${DEMO_CONFIG:-configs/tilted_ce/deeplabv3plus_r18-tiny_tce-cls-t1_1xb8-2k_digits-seg.py}"
WORK_DIR="${DEMO_WORK_DIR:-work_dirs/demo}"
echo "[demo] training $CONFIG -> $WORK_DIR"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$WORK_DIR/$(cat "$WORK_DIR/last_checkpoint" | xargs basename)"
echo "[demo] evaluating $CKPT"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test" --out "$WORK_DIR/test/metrics.json"
echo "[demo] metrics written to $WORK_DIR/test/metrics.json"
