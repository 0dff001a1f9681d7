#!/usr/bin/env bash
# The test command: sets the environment up if needed (tools/setup_env.sh), then runs pytest.
#   bash tools/run_tests.sh [pytest args]      e.g. bash tools/run_tests.sh tests/models -x
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash tools/setup_env.sh
MMEXT_HOME="${MMEXT_HOME:-$HOME/.cache/mmext}"
MMEXT_VENV="${MMEXT_VENV:-$MMEXT_HOME/venv}"
if [ "$MMEXT_VENV" = "current" ]; then PY="$(command -v python || command -v python3)"; else PY="$MMEXT_VENV/bin/python"; fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
echo "[run_tests] $PY -m pytest ${*:-tests}"
exec "$PY" -m pytest -p no:cacheprovider -q --durations=15 "${@:-tests}"
