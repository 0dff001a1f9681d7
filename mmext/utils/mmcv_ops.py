"""Which compiled ops an mmcv install has, and whether they fit the machine and the request.

mmdet's detectors run mmcv's compiled ops (NMS, RoIAlign) on the device of their tensors. An
mmcv built without CUDA imports and passes every CPU test, then fails at the first NMS on a GPU
("nms_impl: implementation for device cuda:0 not found"). This module is the one place that
decides what a GPU user needs; its callers are

* ``tools/setup/env_probe.py`` (run by ``tools/setup_env.sh``, which loads this file by path
  before mmext is installed): whether the installed mmcv satisfies the request or must be
  rebuilt, the flavour key of the cached wheel, the CUDA arch list to build for, the
  ``mmcv ops: ...`` line of the "ready" message;
* ``tools/train.py`` / ``tools/test.py`` (:func:`check_mmcv_ops_for_device`): stop before the
  first iteration when a GPU is visible but mmcv has CPU ops only.

Everything except :func:`mmcv_ops_flavour`, :func:`compiled_cuda_archs` and
:func:`check_mmcv_ops_for_device` is a pure function of its arguments, so the GPU path of the
set-up is tested on machines without a GPU by passing what a GPU machine would report.

This file imports only the standard library at module level (the set-up loads it by path).
"""

import os
import re
import shutil
import subprocess
from typing import List, NamedTuple, Optional, Sequence

#: CUDA archs built by ``FORCE_CUDA=1`` when no GPU is visible and ``TORCH_CUDA_ARCH_LIST`` is
#: unset (CUDA 13 supports compute capability 7.5 and newer): Turing (T4), Ampere (A100,
#: A10/RTX 30xx), Ada (L4/L40, RTX 40xx), Hopper (H100/H200), Blackwell (B200, RTX 50xx).
DEFAULT_CUDA_ARCHS = ('7.5', '8.0', '8.6', '8.9', '9.0', '10.0', '12.0')

#: what ``mmcv.ops.get_compiling_cuda_version()`` returns for an mmcv built without CUDA
NOT_AVAILABLE = 'not available'

REBUILD_COMMAND = 'FORCE_CUDA=1 bash tools/setup_env.sh'


class OpsFlavour(NamedTuple):
    """The compiled ops of an mmcv install.

    Attributes:
        kind (str): ``'missing'`` (``mmcv.ops`` does not import), ``'cpu'`` or ``'cuda'``.
        cuda (str | None): The CUDA version mmcv was compiled with (``'13.0'``), for ``'cuda'``.
        archs (tuple[str, ...] | None): The compute capabilities compiled in (``('8.0',
            '9.0')``), None when unknown (no ``cuobjdump``).
    """

    kind: str
    cuda: Optional[str] = None
    archs: Optional[tuple] = None


def parse_arch_list(text: Optional[str]) -> List[str]:
    """Parse a ``TORCH_CUDA_ARCH_LIST`` value into sorted compute capabilities.

    Args:
        text (str | None): ``'8.0;8.6 9.0+PTX'`` (``;`` or spaces; ``+PTX`` ignored), or
            ``'sm_80;sm_90'``. Empty or None gives ``[]``.

    Returns:
        list[str]: ``['8.0', '8.6', '9.0']``, without duplicates, sorted numerically.

    Raises:
        ValueError: for an entry that is not a compute capability.
    """
    archs = set()
    for item in re.split(r'[;\s,]+', (text or '').strip()):
        if not item:
            continue
        core = item.split('+')[0]
        match = re.fullmatch(r'(?:sm_)?(\d+)\.?(\d)?', core)
        if not match:
            raise ValueError(
                f'TORCH_CUDA_ARCH_LIST: {item!r} is not a compute capability '
                "(expected e.g. '8.0;9.0')"
            )
        major, minor = match.groups()
        if minor is None and 'sm_' in core:  # sm_80 -> 8.0, sm_120 -> 12.0
            major, minor = major[:-1], major[-1]
        archs.add(f'{int(major)}.{minor or 0}')
    return sorted(archs, key=lambda a: tuple(int(x) for x in a.split('.')))


def arch_label(archs: Sequence[str]) -> str:
    """``['8.0', '9.0']`` -> ``'sm_80;sm_90'`` (the form of the ready line)."""
    return ';'.join('sm_' + a.replace('.', '') for a in archs)


def wants_cuda(torch_cuda: Optional[str], gpu_visible: bool, force_cuda: bool) -> bool:
    """Whether the user needs mmcv's CUDA ops.

    Args:
        torch_cuda (str | None): ``torch.version.cuda`` (None for a CPU build of torch).
        gpu_visible (bool): ``torch.cuda.is_available()``.
        force_cuda (bool): ``FORCE_CUDA=1`` (a login node, a docker build, ``srun`` without
            ``--gres``: no GPU now, GPUs at run time).

    Returns:
        bool: True when ``FORCE_CUDA=1``, or torch has CUDA and sees a GPU.
    """
    return bool(force_cuda or (torch_cuda and gpu_visible))


def target_archs(env_arch_list: Optional[str], visible_capabilities: Sequence[str]) -> List[str]:
    """The compute capabilities a CUDA build of mmcv must contain.

    Args:
        env_arch_list (str | None): ``TORCH_CUDA_ARCH_LIST`` (honoured when set).
        visible_capabilities (Sequence[str]): The capabilities of the visible GPUs
            (``'9.0'`` for an H100).

    Returns:
        list[str]: ``TORCH_CUDA_ARCH_LIST`` when set, else the visible GPUs', else
        :data:`DEFAULT_CUDA_ARCHS`.
    """
    archs = parse_arch_list(env_arch_list)
    if archs:
        return archs
    if visible_capabilities:
        return parse_arch_list(';'.join(visible_capabilities))
    return list(DEFAULT_CUDA_ARCHS)


def flavour_key(want_cuda: bool, torch_cuda: Optional[str], archs: Sequence[str]) -> str:
    """The flavour part of the cached wheel's key: ``'cpu'`` or ``'cuda13.0-sm80_90'``.

    A CPU wheel never satisfies a CUDA request, and a wheel for other archs never satisfies
    this one: the key names both.
    """
    if not want_cuda:
        return 'cpu'
    return f'cuda{torch_cuda}-' + 'sm' + '_'.join(a.replace('.', '') for a in archs)


def rebuild_reason(
    flavour: OpsFlavour,
    want_cuda: bool,
    torch_cuda: Optional[str],
    archs: Sequence[str],
) -> Optional[str]:
    """Why the installed mmcv does not satisfy the request (None when it does).

    Args:
        flavour (OpsFlavour): What is installed (:func:`mmcv_ops_flavour`).
        want_cuda (bool): :func:`wants_cuda`.
        torch_cuda (str | None): ``torch.version.cuda``.
        archs (Sequence[str]): :func:`target_archs` (used when ``want_cuda``).

    Returns:
        str | None: A reason such as ``'mmcv has CPU ops only; CUDA ops were requested'``.
    """
    if flavour.kind == 'missing':
        return 'mmcv.ops does not import'
    if not want_cuda:
        return None  # CPU intent: any working mmcv.ops will do (CUDA ops also run on CPU)
    if flavour.kind != 'cuda':
        return 'mmcv has CPU ops only; CUDA ops were requested'
    if torch_cuda and flavour.cuda and flavour.cuda.split('.')[0] != torch_cuda.split('.')[0]:
        return f'mmcv was compiled with CUDA {flavour.cuda}, torch uses CUDA {torch_cuda}'
    if flavour.archs is not None:
        missing = [a for a in archs if a not in flavour.archs]
        if missing:
            return (
                f'mmcv was compiled for {arch_label(flavour.archs)}, not for {arch_label(missing)}'
            )
    return None


def ops_line(flavour: OpsFlavour) -> str:
    """The ``mmcv ops: ...`` part of the set-up's ready line."""
    if flavour.kind == 'cuda':
        archs = arch_label(flavour.archs) if flavour.archs else 'archs unknown'
        return f'mmcv ops: CUDA {flavour.cuda} ({archs})'
    if flavour.kind == 'cpu':
        return (
            'mmcv ops: CPU only (for GPU training, build CUDA ops with '
            f'`{REBUILD_COMMAND}` on a machine with nvcc)'
        )
    return 'mmcv ops: missing'


def driver_warning(nvidia_smi_gpus: int, gpu_visible: bool, torch_cuda: Optional[str]) -> str:
    """A warning when ``nvidia-smi`` lists GPUs that torch cannot use ('' otherwise).

    Args:
        nvidia_smi_gpus (int): Number of GPUs ``nvidia-smi -L`` lists.
        gpu_visible (bool): ``torch.cuda.is_available()``.
        torch_cuda (str | None): ``torch.version.cuda``.
    """
    if nvidia_smi_gpus <= 0 or gpu_visible:
        return ''
    if not torch_cuda:
        cause = 'the installed torch is a CPU-only build'
    else:
        cause = (
            f'the installed torch is built for CUDA {torch_cuda}; the NVIDIA driver is probably '
            'too old for it (nvidia-smi shows the CUDA version the driver supports)'
        )
    return (
        f'WARNING: nvidia-smi lists {nvidia_smi_gpus} GPU(s) but torch cannot use them: '
        f'{cause}. Update the driver, or install a torch build for your driver into your own '
        'environment and run `MMEXT_VENV=current bash tools/setup_env.sh` there.'
    )


def count_nvidia_smi_gpus() -> int:
    """GPUs listed by ``nvidia-smi -L`` (0 when it is absent or fails)."""
    exe = shutil.which('nvidia-smi')
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, '-L'], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return 0
    if out.returncode != 0:
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith('GPU '))


def compiled_cuda_archs(library: str) -> Optional[tuple]:
    """The compute capabilities compiled into a shared library, via ``cuobjdump``.

    Args:
        library (str): Path of the library (mmcv's ``_ext`` module).

    Returns:
        tuple[str, ...] | None: ``('8.0', '9.0')``; None when ``cuobjdump`` is absent or
        fails.
    """
    exe = shutil.which('cuobjdump')
    if exe is None:
        cuda_home = os.environ.get('CUDA_HOME') or '/usr/local/cuda'
        exe = os.path.join(cuda_home, 'bin', 'cuobjdump')
        if not os.path.isfile(exe):
            return None
    archs = set()
    for flag in ('--list-elf', '--list-ptx'):
        try:
            out = subprocess.run([exe, flag, library], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return None
        archs.update(re.findall(r'sm_(\d+)', out.stdout))
    if not archs:
        return None
    return tuple(parse_arch_list(';'.join('sm_' + a for a in archs)))


def mmcv_ops_flavour(with_archs: bool = True) -> OpsFlavour:
    """Inspect the installed mmcv's compiled ops.

    Args:
        with_archs (bool): Also read the compiled CUDA archs (runs ``cuobjdump``; seconds).

    Returns:
        OpsFlavour: ``missing``, ``cpu``, or ``cuda`` with its CUDA version (and archs).
    """
    try:
        from mmcv import ops  # noqa: F401
        from mmcv.ops import get_compiling_cuda_version
    except Exception:
        return OpsFlavour('missing')
    version = str(get_compiling_cuda_version())
    if version == NOT_AVAILABLE or not version:
        return OpsFlavour('cpu')
    archs = None
    if with_archs:
        try:
            import mmcv._ext as ext

            archs = compiled_cuda_archs(ext.__file__)
        except Exception:
            archs = None
    return OpsFlavour('cuda', version, archs)


def check_mmcv_ops_for_device() -> None:
    """Stop a GPU run whose mmcv has CPU ops only, before the first iteration.

    Raises:
        RuntimeError: when torch sees a GPU and mmcv was built without CUDA ops (mmdet's NMS
            and RoIAlign would fail inside the first step), with the rebuild command.
            ``MMEXT_ALLOW_CPU_MMCV=1`` skips the check (a model without mmcv ops).
    """
    import torch

    if os.environ.get('MMEXT_ALLOW_CPU_MMCV') == '1' or not torch.cuda.is_available():
        return
    flavour = mmcv_ops_flavour(with_archs=False)
    if flavour.kind == 'cuda':
        return
    state = 'has CPU ops only' if flavour.kind == 'cpu' else 'ops do not import'
    raise RuntimeError(
        f'a GPU is visible but mmcv {state}: '
        "mmdet's NMS / RoIAlign would fail at the first step. Rebuild mmcv with CUDA ops: "
        f'`{REBUILD_COMMAND}` (or `MMEXT_VENV=current {REBUILD_COMMAND}` in your own '
        'environment). Set MMEXT_ALLOW_CPU_MMCV=1 to run a model that uses no mmcv ops anyway.'
    )
