#!/usr/bin/env bash
# The test command: sets the environment up if needed (tools/setup_env.sh), lints the repository
# with ruff (pyproject.toml: lint rules, import order, format; MMEXT_SKIP_LINT=1 skips it), then
# runs pytest on MMEXT_TEST_WORKERS worker processes (pytest-xdist; default 2, one test file
# per worker at a time; 0 runs in this process, e.g. for pdb).
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
if [ "${MMEXT_SKIP_LINT:-0}" != 1 ]; then
  echo "[run_tests] ruff check . && ruff format --check ."
  "$PY" -m ruff check --no-cache . || { echo "[run_tests] lint failed: fix it or run 'ruff check --fix .'"; exit 1; }
  "$PY" -m ruff format --no-cache --check . || { echo "[run_tests] format check failed: run 'ruff format .'"; exit 1; }
fi
WORKERS="${MMEXT_TEST_WORKERS:-2}"
XDIST=()
if [ "$WORKERS" != 0 ]; then XDIST=(-n "$WORKERS" --dist loadfile); fi
echo "[run_tests] $PY -m pytest ${XDIST[*]} ${*:-tests}"
exec "$PY" -m pytest -p no:cacheprovider -q --durations=15 "${XDIST[@]}" "${@:-tests}"
