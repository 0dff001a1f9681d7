# Background steps with live progress, for bash scripts (tools/demo.sh): source it after setting
# PY (the Python to run tools/misc/progress.py with) and PROGRESS_PREFIX (put before its lines).
#
#   start_bg ce work_dirs/demo/ce.log "$PY" tools/train.py CONFIG ...   # any number of them
#   wait_all training      # progress lines until all ended; exits 1 when one failed
#
# start_bg NAME LOG CMD... runs CMD in the background with its output in LOG, and writes its exit
# status to LOG's .rc file (ce.log -> ce.rc) when it ends. wait_all STEP runs progress.py in the
# foreground on those files: one line per step (iteration / total, loss, ETA of mmengine's log),
# redrawn in place on a terminal, plain lines otherwise. When a step fails, progress.py prints its
# log tail at once and wait_all exits 1; the EXIT trap set here stops the steps still running
# (SIGTERM), so does Ctrl-C.

PIDS=()   # the background steps started by start_bg and not yet waited for
WATCH=()  # their --run arguments of progress.py
_PROGRESS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/progress.py"

# start_bg NAME LOG CMD...: run CMD in the background, its output in LOG; its exit status goes to
# LOG's .rc file when it ends (SIGTERM to the wrapper subshell stops CMD too)
start_bg() {
  local name=$1 log=$2 rc="${2%.log}.rc"
  shift 2
  rm -f "$rc"
  : > "$log"  # progress.py must not read a previous run's log
  ( "$@" > "$log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' TERM
    s=0
    wait "$pid" || s=$?
    echo "$s" > "$rc" ) &
  PIDS+=($!)
  WATCH+=(--run "$name" "$log" "$rc")
}

# stop_all: stop the background steps still running (a failed step, Ctrl-C, an error)
stop_all() {
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_all STEP: show the progress of the background steps until all ended; when one fails
# (progress.py printed its log tail), exit 1
wait_all() {
  "$PY" "$_PROGRESS" --step "$1" --prefix "${PROGRESS_PREFIX:-}" "${WATCH[@]}" || exit 1
  wait "${PIDS[@]}"
  PIDS=()
  WATCH=()
}
