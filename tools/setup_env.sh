#!/usr/bin/env bash
# Create (or update) the Python environment mmext runs in. Idempotent: every step checks what is
# already there and skips itself, so a second run takes seconds.
#
#   bash tools/setup_env.sh            # venv at $MMEXT_VENV (default ~/.cache/mmext/venv)
#   MMEXT_VENV=current bash tools/setup_env.sh   # install into the active conda env / venv
#
# Steps
#   1. venv (Python >= 3.9) unless MMEXT_VENV=current
#   2. torch / torchvision from requirements/build.txt (skipped when any torch is present in a
#      `current` env: your GPU build is kept)
#   3. mmcv 2.1.0 with compiled ops. PyPI only has its source; it is built once (~15-20 min on
#      2 cores) with C++20 flags (torch >= 2.10 requires them) and the wheel is cached in
#      $MMEXT_HOME/wheels/<mmcv>-<torch>-<python>-<platform>-<flavour>/ for later runs, the
#      flavour being `cpu` or `cuda<version>-sm<archs>` (cuda13.0-sm80_90). CUDA ops are
#      compiled when torch has CUDA and sees a GPU, or with FORCE_CUDA=1 (no GPU needed: a login
#      node, a docker build); for the archs of TORCH_CUDA_ARCH_LIST when set, else of the
#      visible GPUs, else the default list of mmext/utils/mmcv_ops.py (DEFAULT_CUDA_ARCHS).
#      An installed mmcv without the wanted ops (CPU-only, other archs) is rebuilt. The last
#      line says which ops you got: `mmcv ops: CUDA 13.0 (sm_80;sm_90)` or `mmcv ops: CPU only`.
#   4. the OpenMMLab stack and the rest of requirements/, pinned against the installed torch
#   5. mmext itself, editable (pip install -e .)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MMEXT_HOME="${MMEXT_HOME:-$HOME/.cache/mmext}"
MMEXT_VENV="${MMEXT_VENV:-$MMEXT_HOME/venv}"
MMCV_VERSION="2.1.0"
PY_BOOT="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '[setup_env] %s\n' "$*"; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$MMEXT_HOME"

# ---------------------------------------------------------------- 1. environment
if [ "$MMEXT_VENV" = "current" ]; then
    PY="$(command -v python || command -v python3)"
    say "installing into the current environment: $PY"
else
    if [ ! -x "$MMEXT_VENV/bin/python" ]; then
        say "creating venv $MMEXT_VENV"
        "$PY_BOOT" -m venv "$MMEXT_VENV" || die "could not create a venv with $PY_BOOT"
    else
        say "venv $MMEXT_VENV exists"
    fi
    PY="$MMEXT_VENV/bin/python"
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
    || die "Python >= 3.9 is required ($("$PY" --version 2>&1))"
PIP=("$PY" -m pip)

# What is installed and what is wanted, from one Python process (imports are most of a no-op
# run's time): tools/setup/env_probe.py lists its lines (PROBE[0] torch versions, [1] mmcv with
# ops fitting the request, [2] stack, [3] mmext, [4] ready line, [5] why mmcv must be rebuilt,
# [6] CUDA ops wanted, [7] wheel flavour key, [8] CUDA arch list, [9] torch.version.cuda,
# [10] driver warning). Run from / so that the repo folder does not count as an install; re-run
# after every install.
probe() {
    local out
    out="$(mktemp)"
    (cd / && "$PY" "$REPO/tools/setup/env_probe.py" "$out" "$REPO" "$MMCV_VERSION" >/dev/null 2>&1) || true
    mapfile -t PROBE < "$out"
    rm -f "$out"
    while [ "${#PROBE[@]}" -lt 11 ]; do PROBE+=(""); done
}
probe

have_torch() { [ -n "${PROBE[0]}" ]; }
pinned() { grep -E "^$1==" "$REPO/requirements/build.txt" | head -n1; }

# ---------------------------------------------------------------- 2. torch
# FORCE_CUDA=1 asks for CUDA ops: a CPU-only torch (torch.version.cuda None, e.g. `+cpu`) cannot
# build or run them, so it never counts as "already installed" then.
cpu_torch_for_cuda() { [ "${FORCE_CUDA:-0}" = "1" ] && have_torch && [ -z "${PROBE[9]}" ]; }
if [ "$MMEXT_VENV" = "current" ] && have_torch; then
    if cpu_torch_for_cuda; then
        die "FORCE_CUDA=1 but the torch of this environment ($("$PY" -c 'import torch; print(torch.__version__)')) is a CPU-only build: install a CUDA build of torch here first, or run without FORCE_CUDA=1 for CPU ops"
    fi
    say "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    want_torch="$(pinned torch)"; want_tv="$(pinned torchvision)"
    have="${PROBE[0]}"
    if [ "$have" = "${want_torch#torch==} ${want_tv#torchvision==}" ] && ! cpu_torch_for_cuda; then
        say "torch $have already installed"
    else
        reinstall=()
        if cpu_torch_for_cuda; then
            say "FORCE_CUDA=1: the installed torch is a CPU-only build; replacing it with the CUDA build"
            reinstall=(--force-reinstall --no-deps)
        fi
        say "installing $want_torch $want_tv (about a minute from a local wheel store)"
        "${PIP[@]}" install -q "${reinstall[@]}" "$want_torch" "$want_tv"
        "${PIP[@]}" install -q "$want_torch" "$want_tv" 'setuptools>=77,<81' wheel
        probe
        if cpu_torch_for_cuda; then die "FORCE_CUDA=1 but $want_torch installed as a CPU-only build"; fi
    fi
fi
# constraints: never let a later resolve replace the torch we have
CONSTRAINTS="$MMEXT_HOME/constraints-$$.txt"
trap 'rm -f "$CONSTRAINTS"' EXIT
"$PY" - > "$CONSTRAINTS" <<'EOF'
import importlib.metadata as md
print(f"torch=={md.version('torch')}")
try:
    print(f"torchvision=={md.version('torchvision')}")
except md.PackageNotFoundError:
    pass
EOF

# ---------------------------------------------------------------- 3. mmcv with ops
# The CUDA build's environment (CUDA_HOME, the CUDA library headers): tools/setup/cuda_env.sh
source "$REPO/tools/setup/cuda_env.sh"

# Probe line [1] is 1 only when the installed mmcv has the ops the user needs: with CUDA ops
# wanted ([6]: FORCE_CUDA=1, or torch has CUDA and sees a GPU), a CPU-only mmcv, one for another
# CUDA major version or one missing an arch of [8] is rebuilt, never "already installed".
if [ "${PROBE[1]}" = 1 ]; then
    say "mmcv $MMCV_VERSION with compiled ops already installed"
else
    [ -n "${PROBE[5]}" ] && say "mmcv needs a (re)build: ${PROBE[5]}"
    WITH_CUDA="${PROBE[6]:-0}"
    ARCHS="${PROBE[8]}"
    if [ "$WITH_CUDA" = 1 ]; then
        command -v nvcc >/dev/null 2>&1 || [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ] \
            || die "CUDA ops requested but nvcc is not on PATH (set CUDA_HOME or install the CUDA toolkit ${PROBE[9]})"
        cuda_build_env
        FLAVOUR="CUDA ${PROBE[9]} ops for ${ARCHS}; the CUDA kernels take much longer than a CPU build, more with each arch"
    else
        FLAVOUR="CPU ops, ~15-20 min on 2 cores"
    fi
    # the key names the flavour: a CPU wheel never satisfies a CUDA request, a wheel built for
    # other archs never satisfies this one
    KEY="$("$PY" -c "import sys, sysconfig, torch; print(f'mmcv-$MMCV_VERSION-torch{torch.__version__}-cp{sys.version_info.major}{sys.version_info.minor}-{sysconfig.get_platform()}')")-${PROBE[7]}"
    CACHE="$MMEXT_HOME/wheels/$KEY"
    WHEEL="$(ls "$CACHE"/mmcv-*.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$WHEEL" ]; then
        say "no cached mmcv wheel for $KEY: building it from source ($FLAVOUR)"
        BUILD="$(mktemp -d "$MMEXT_HOME/mmcv-build.XXXXXX")"
        (
            cd "$BUILD"
            "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
                "mmcv==$MMCV_VERSION" -d . -c "$CONSTRAINTS"
            tar xzf "mmcv-$MMCV_VERSION.tar.gz"
            cd "mmcv-$MMCV_VERSION"
            # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes c++14/17.
            if "$PY" -c 'import torch,sys; v=tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(0 if v >= (2, 10) else 1)'; then
                say "patching mmcv setup.py: -std=c++14/17 -> -std=c++20"
                sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' setup.py
            fi
            # mmcv's setup.py needs pkg_resources APIs dropped in setuptools >= 70: build with an
            # older setuptools, then restore the runtime pin below.
            "${PIP[@]}" install -q 'setuptools<70' wheel -c "$CONSTRAINTS"
            if [ "$WITH_CUDA" = 1 ]; then export TORCH_CUDA_ARCH_LIST="$ARCHS"; fi
            MMCV_WITH_OPS=1 FORCE_CUDA="$WITH_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
                "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD/dist" . 2>&1 \
                | tee "$BUILD/build.log" | grep -E --line-buffered '^(building|Building|copying mmcv/_ext|Successfully|error|ERROR)' || true
        )
        "${PIP[@]}" install -q 'setuptools>=77,<81' -c "$CONSTRAINTS"
        built="$(ls "$BUILD"/dist/mmcv-*.whl 2>/dev/null | head -n1 || true)"
        [ -n "$built" ] || die "mmcv build failed; see $BUILD/build.log"
        mkdir -p "$CACHE"
        mv "$built" "$CACHE/"
        rm -rf "$BUILD"
        WHEEL="$(ls "$CACHE"/mmcv-*.whl | head -n1)"
        say "cached $WHEEL"
    else
        say "using cached mmcv wheel $WHEEL"
    fi
    # the wheel plus its runtime requirements (mmengine, opencv, addict, yapf, ...); mmcv.ops
    # imports mmengine, so pin it here already
    "${PIP[@]}" install -q --force-reinstall --no-deps "$WHEEL"
    "${PIP[@]}" install -q "$WHEEL" "$(grep -E '^mmengine==' "$REPO/requirements/runtime.txt")" \
        -c "$CONSTRAINTS"
    probe
    [ "${PROBE[1]}" = 1 ] || die "mmcv $MMCV_VERSION installed from $WHEEL does not fit: ${PROBE[5]}"
fi

# ---------------------------------------------------------------- 4. stack + requirements
STAMP="$MMEXT_HOME/requirements-$(cat "$REPO"/requirements/*.txt | "$PY" -c 'import hashlib,sys; print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')-$(echo "$PY" | "$PY" -c 'import hashlib,sys; print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:8])').ok"
if [ -f "$STAMP" ] && [ "${PROBE[2]}" = 1 ]; then
    say "requirements unchanged since the last run"
else
    say "installing the OpenMMLab stack and requirements/{runtime,tests}.txt"
    "${PIP[@]}" install -q -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt" \
        -c "$CONSTRAINTS"
    touch "$STAMP"
    probe
fi

# ---------------------------------------------------------------- 5. mmext
if [ "${PROBE[3]}" = 1 ]; then
    say "mmext already installed from $REPO"
else
    say "installing mmext (editable) from $REPO"
    "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$REPO"
    probe
fi
if [ -z "${PROBE[4]}" ]; then  # something does not import: show the error
    (cd / && "$PY" -c 'import torch, mmcv, mmcv.ops, mmengine, mmdet, mmseg, mmpretrain, mmext')
    die "the environment does not import (see above)"
fi
printf '%s\n' "${PROBE[4]}"
if [ -n "${PROBE[10]}" ]; then say "${PROBE[10]}"; fi
if [ "$MMEXT_VENV" != "current" ]; then
    say "python: $PY"
fi
