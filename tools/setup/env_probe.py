"""What ``tools/setup_env.sh`` finds installed, in one Python process (imports are most of a
no-op run's time).

    python tools/setup/env_probe.py OUT REPO MMCV_VERSION

Writes one line per item to OUT (``setup_env.sh`` reads them with ``mapfile``):

0. torch and torchvision versions (each only if it imports; empty when torch does not)
1. ``1`` when mmcv ``MMCV_VERSION`` with ops is installed *and* fits the request (below)
2. ``1`` when the OpenMMLab stack and the test requirements import
3. ``1`` when mmext is installed from REPO
4. the "ready" line, with the ``mmcv ops: ...`` flavour (empty unless everything imports)
5. why mmcv must be (re)built (empty when line 1 is ``1``)
6. ``1`` when CUDA ops are wanted: ``FORCE_CUDA=1``, or torch has CUDA and sees a GPU
7. the flavour part of the cached wheel's key (``cpu`` or ``cuda13.0-sm80_90``)
8. the CUDA arch list to build for (``8.0;9.0``; ``TORCH_CUDA_ARCH_LIST`` when set, else the
   visible GPUs', else the documented default), empty for a CPU build
9. ``torch.version.cuda`` (empty for a CPU build of torch)
10. a warning when ``nvidia-smi`` lists GPUs that torch cannot use (empty otherwise)

The decisions are :mod:`mmext.utils.mmcv_ops`, loaded by path (mmext may not be installed
yet). Run from ``/`` so that the repository folder does not count as an install.
"""

import importlib.util
import os
import sys


def load_mmcv_ops(repo: str):
    """Load ``mmext/utils/mmcv_ops.py`` of ``repo`` without importing the mmext package."""
    path = os.path.join(repo, 'mmext', 'utils', 'mmcv_ops.py')
    spec = importlib.util.spec_from_file_location('_mmext_setup_mmcv_ops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(fn):
    """``fn()``, or None when it raises (anything: a broken install must not stop the probe)."""
    try:
        return fn()
    except Exception:
        return None


def version(module) -> str:
    return module.__version__.split('+')[0]


def torch_versions() -> str:
    import torch

    try:
        import torchvision
    except Exception:
        return version(torch)
    return f'{version(torch)} {version(torchvision)}'


def torch_gpu_info():
    """(``torch.version.cuda``, GPU visible, capabilities of the visible GPUs)."""
    import torch

    cuda = getattr(torch.version, 'cuda', None)
    visible = bool(cuda) and bool(torch.cuda.is_available())
    caps = []
    if visible:
        for i in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(i)
            caps.append(f'{major}.{minor}')
    return cuda, visible, caps


def stack_ok() -> bool:
    import mlxtend  # noqa: F401, E401

    return True


def mmext_ok(repo: str) -> bool:
    import mmext

    here = os.path.realpath(os.path.dirname(mmext.__file__))
    return here == os.path.realpath(os.path.join(repo, 'mmext'))


def ready(ops_line: str) -> str:
    import mmcv  # noqa: E401
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    import torch

    import mmext

    return (
        f'[setup_env] ready: torch {torch.__version__} | mmcv {mmcv.__version__} | mmengine '
        f'{mmengine.__version__} | mmdet {mmdet.__version__} | mmseg {mmseg.__version__} | '
        f'mmpretrain {mmpretrain.__version__} | mmext {mmext.__version__} | {ops_line}'
    )


def probe(repo: str, mmcv_version: str, environ=os.environ) -> list:
    """The lines listed in the module docstring."""
    ops = load_mmcv_ops(repo)
    torch_cuda, visible, caps = check(torch_gpu_info) or (None, False, [])
    want = ops.wants_cuda(torch_cuda, visible, environ.get('FORCE_CUDA', '0') == '1')
    archs = ops.target_archs(environ.get('TORCH_CUDA_ARCH_LIST'), caps) if want else []
    flavour = ops.mmcv_ops_flavour(with_archs=want)
    reason = ops.rebuild_reason(flavour, want, torch_cuda, archs)
    if reason is None and check(lambda: __import__('mmcv').__version__) != mmcv_version:
        reason = f'mmcv {mmcv_version} is not installed'
    smi = ops.count_nvidia_smi_gpus()
    return [
        check(torch_versions) or '',
        '1' if reason is None else '0',
        '1' if check(stack_ok) else '0',
        '1' if check(lambda: mmext_ok(repo)) else '0',
        check(lambda: ready(ops.ops_line(flavour))) or '',
        reason or '',
        '1' if want else '0',
        ops.flavour_key(want, torch_cuda, archs),
        ';'.join(archs),
        torch_cuda or '',
        ops.driver_warning(smi, visible, torch_cuda),
    ]


def main(argv=None) -> None:
    out, repo, mmcv_version = (argv or sys.argv[1:])[:3]
    lines = probe(repo, mmcv_version)
    with open(out, 'w') as f:
        f.write('\n'.join(line.replace('\n', ' ') for line in lines) + '\n')


if __name__ == '__main__':
    main()
