# Sourced by tools/setup_env.sh (and its test): cuda_build_env sets CUDA_HOME and the CUDA
# library header paths for building mmcv's CUDA ops. Needs `say`, `die` and `$PY`.
# The CUDA build's environment. torch's extension builder takes CUDA_HOME from the directory
# above `nvcc`; a wrapper script (/usr/local/bin/nvcc running /usr/local/cuda-13.0/bin/nvcc)
# makes that /usr/local, without the toolkit's headers. CUDA_HOME is therefore the toolkit nvcc
# itself reports (`nvcc -v --dryrun`: TOP=...) unless set. torch's CUDA headers also include the
# CUDA libraries' headers (cusparse.h, cublas_v2.h, cusolverDn.h); a toolkit without them (a
# minimal install) gets those of the nvidia-* wheels torch depends on (site-packages/nvidia/
# */include), through CPATH (host compiler) and NVCC_APPEND_FLAGS (nvcc).
cuda_build_env() {
    if [ -z "${CUDA_HOME:-}" ]; then
        local top
        top="$(nvcc -v --dryrun -c /dev/null -x cu 2>&1 | sed -n 's/^#\$ TOP=//p' | head -n1)"
        if [ -n "$top" ] && [ -f "$top/include/cuda_runtime.h" ]; then  # TOP=<toolkit>/bin/..
            CUDA_HOME="$(cd "$top" && pwd -P)"
        elif [ -f /usr/local/cuda/include/cuda_runtime.h ]; then
            CUDA_HOME=/usr/local/cuda
        fi
    fi
    [ -n "${CUDA_HOME:-}" ] || die "CUDA ops requested but the CUDA toolkit's headers were not found: set CUDA_HOME"
    export CUDA_HOME
    say "CUDA toolkit: $CUDA_HOME ($(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
    if [ ! -f "$CUDA_HOME/include/cusparse.h" ]; then
        local extra
        extra="$("$PY" - <<'PYEOF'
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
dirs = sorted({d for r in roots for d in glob.glob(os.path.join(r, 'nvidia', '*', 'include'))
               if os.path.isfile(os.path.join(d, 'cusparse.h'))})
print(':'.join(dirs))
PYEOF
)"
        [ -n "$extra" ] || die "CUDA ops requested but cusparse.h is in neither $CUDA_HOME/include nor the nvidia-* wheels of torch: install the CUDA toolkit's library headers"
        say "CUDA library headers from torch's nvidia wheels: $extra"
        export CPATH="$extra${CPATH:+:$CPATH}"
        export NVCC_APPEND_FLAGS="${NVCC_APPEND_FLAGS:-} -I${extra//:/ -I}"
    fi
}
