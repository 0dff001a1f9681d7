"""The set-up never hands a GPU user a CPU-only mmcv (issue 30 item 1).

The GPU path of ``tools/setup_env.sh`` is tested without a GPU by faking its inputs: the
decision functions get what a GPU machine reports, and ``tools/setup/env_probe.py`` (the
probe ``setup_env.sh`` reads) runs in a subprocess against stub ``torch`` / ``mmcv`` packages
(a CUDA-reporting torch, a CPU-only mmcv) and must ask for a rebuild.
"""

import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from mmext.utils import mmcv_ops
from mmext.utils.mmcv_ops import OpsFlavour

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROBE = osp.join(REPO, 'tools', 'setup', 'env_probe.py')


def test_parse_arch_list():
    assert mmcv_ops.parse_arch_list('9.0;8.0 8.6+PTX') == ['8.0', '8.6', '9.0']
    assert mmcv_ops.parse_arch_list('sm_80;sm_90;sm_120') == ['8.0', '9.0', '12.0']
    assert mmcv_ops.parse_arch_list('') == [] and mmcv_ops.parse_arch_list(None) == []
    with pytest.raises(ValueError, match='Ampere'):
        mmcv_ops.parse_arch_list('Ampere')
    assert mmcv_ops.arch_label(['8.0', '9.0']) == 'sm_80;sm_90'


def test_wants_cuda():
    assert mmcv_ops.wants_cuda('13.0', True, False)
    assert mmcv_ops.wants_cuda(None, False, True)  # FORCE_CUDA=1 on a login node
    assert not mmcv_ops.wants_cuda('13.0', False, False)  # CI here: nvcc, no GPU
    assert not mmcv_ops.wants_cuda(None, False, False)


def test_target_archs_order_of_precedence():
    assert mmcv_ops.target_archs('8.0', ['9.0']) == ['8.0']  # TORCH_CUDA_ARCH_LIST honoured
    assert mmcv_ops.target_archs(None, ['9.0', '9.0']) == ['9.0']  # the visible GPUs
    assert mmcv_ops.target_archs('', []) == list(mmcv_ops.DEFAULT_CUDA_ARCHS)  # documented
    assert mmcv_ops.DEFAULT_CUDA_ARCHS[0] == '7.5'  # CUDA 13's oldest


def test_flavour_key_names_cuda_and_archs():
    assert mmcv_ops.flavour_key(False, '13.0', []) == 'cpu'
    assert mmcv_ops.flavour_key(True, '13.0', ['8.0', '9.0']) == 'cuda13.0-sm80_90'
    # a wheel for sm_80 and one for sm_90 never share a cache folder
    assert mmcv_ops.flavour_key(True, '13.0', ['8.0']) != mmcv_ops.flavour_key(
        True, '13.0', ['9.0']
    )


@pytest.mark.parametrize(
    'flavour, want, archs, expected',
    [
        (OpsFlavour('cpu'), True, ['9.0'], 'CPU ops only'),
        (OpsFlavour('cpu'), False, [], None),
        (OpsFlavour('missing'), False, [], 'does not import'),
        (OpsFlavour('cuda', '13.0', ('8.0',)), True, ['9.0'], 'compiled for sm_80, not for sm_90'),
        (OpsFlavour('cuda', '12.4', ('9.0',)), True, ['9.0'], 'CUDA 12.4, torch uses CUDA 13.0'),
        (OpsFlavour('cuda', '13.0', ('8.0', '9.0')), True, ['9.0'], None),
        (OpsFlavour('cuda', '13.0', None), True, ['9.0'], None),  # archs unknown: accepted
        (OpsFlavour('cuda', '13.0', ('9.0',)), False, [], None),  # CUDA ops also run on CPU
    ],
)
def test_rebuild_reason(flavour, want, archs, expected):
    reason = mmcv_ops.rebuild_reason(flavour, want, '13.0', archs)
    if expected is None:
        assert reason is None
    else:
        assert expected in reason


def test_ready_line_and_driver_warning():
    assert mmcv_ops.ops_line(OpsFlavour('cuda', '13.0', ('8.0', '9.0'))) == (
        'mmcv ops: CUDA 13.0 (sm_80;sm_90)'
    )
    cpu = mmcv_ops.ops_line(OpsFlavour('cpu'))
    assert cpu.startswith('mmcv ops: CPU only') and 'FORCE_CUDA=1 bash tools/setup_env.sh' in cpu
    warning = mmcv_ops.driver_warning(2, False, '13.0')
    assert 'nvidia-smi lists 2 GPU(s)' in warning and 'driver' in warning
    assert 'MMEXT_VENV=current' in warning
    assert mmcv_ops.driver_warning(0, False, '13.0') == ''
    assert mmcv_ops.driver_warning(2, True, '13.0') == ''


def test_runtime_check_stops_a_gpu_run_with_cpu_mmcv(monkeypatch):
    import torch

    monkeypatch.delenv('MMEXT_ALLOW_CPU_MMCV', raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(mmcv_ops, 'mmcv_ops_flavour', lambda with_archs=True: OpsFlavour('cpu'))
    with pytest.raises(RuntimeError, match=r'CPU ops only.*FORCE_CUDA=1 bash tools/setup_env.sh'):
        mmcv_ops.check_mmcv_ops_for_device()
    monkeypatch.setenv('MMEXT_ALLOW_CPU_MMCV', '1')
    mmcv_ops.check_mmcv_ops_for_device()
    monkeypatch.delenv('MMEXT_ALLOW_CPU_MMCV')
    monkeypatch.setattr(
        mmcv_ops, 'mmcv_ops_flavour', lambda with_archs=True: OpsFlavour('cuda', '13.0')
    )
    mmcv_ops.check_mmcv_ops_for_device()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(mmcv_ops, 'mmcv_ops_flavour', lambda with_archs=True: OpsFlavour('cpu'))
    mmcv_ops.check_mmcv_ops_for_device()  # CPU run: fine


def test_installed_mmcv_here_is_cpu_only():
    """This machine (no GPU, no FORCE_CUDA) builds CPU ops: the probe reads them as such."""
    assert mmcv_ops.mmcv_ops_flavour(with_archs=False).kind in ('cpu', 'cuda')


def _stubs(root, cuda='13.0', visible=False, mmcv_cuda='not available', torch_version='2.14.1'):
    """Stub torch (CUDA build, GPU visibility as given) and mmcv (ops of the given flavour)."""
    (root / 'torch').mkdir()
    (root / 'torch' / '__init__.py').write_text(
        textwrap.dedent(
            f"""
            __version__ = {torch_version!r}
            class version:
                cuda = {cuda!r}
            class cuda:
                @staticmethod
                def is_available():
                    return {visible!r}
                @staticmethod
                def device_count():
                    return 1
                @staticmethod
                def get_device_capability(i):
                    return (9, 0)
            """
        )
    )
    (root / 'mmcv' / 'ops').mkdir(parents=True)
    (root / 'mmcv' / '__init__.py').write_text("__version__ = '2.1.0'\n")
    (root / 'mmcv' / 'ops' / '__init__.py').write_text(
        f'def get_compiling_cuda_version():\n    return {mmcv_cuda!r}\n'
    )


def _probe(tmp_path, **env):
    out = tmp_path / 'probe.txt'
    environ = {
        k: v for k, v in os.environ.items() if k not in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST')
    }
    environ.update(PYTHONPATH=str(tmp_path / 'stubs'), PATH='/usr/bin:/bin', **env)
    subprocess.run(
        [sys.executable, '-S', PROBE, str(out), REPO, '2.1.0'],
        cwd='/',
        env=environ,
        check=True,
        timeout=120,
    )
    return out.read_text().split('\n')


@pytest.fixture
def stub_root(tmp_path):
    (tmp_path / 'stubs').mkdir()
    return tmp_path / 'stubs'


def test_probe_cpu_mmcv_with_force_cuda_asks_for_rebuild(tmp_path, stub_root):
    _stubs(stub_root)  # CUDA torch, no GPU visible (a login node), CPU-only mmcv
    lines = _probe(tmp_path, FORCE_CUDA='1')
    assert lines[1] == '0', lines  # never "already installed"
    assert 'CPU ops only' in lines[5]
    assert lines[6] == '1' and lines[9] == '13.0'
    assert lines[7] == 'cuda13.0-sm75_80_86_89_90_100_120'  # documented default list
    assert lines[8] == ';'.join(mmcv_ops.DEFAULT_CUDA_ARCHS)
    assert lines[0] == '2.14.1'


def test_probe_visible_gpu_wants_its_arch_and_honours_the_arch_list(tmp_path, stub_root):
    _stubs(stub_root, visible=True)
    lines = _probe(tmp_path)
    assert lines[1] == '0' and lines[6] == '1' and lines[8] == '9.0'
    assert lines[7] == 'cuda13.0-sm90'
    lines = _probe(tmp_path, TORCH_CUDA_ARCH_LIST='8.0;9.0')
    assert lines[7] == 'cuda13.0-sm80_90' and lines[8] == '8.0;9.0'


def test_probe_without_gpu_or_force_stays_cpu(tmp_path, stub_root):
    _stubs(stub_root)  # CI here: CUDA torch, nvcc, no GPU
    lines = _probe(tmp_path)
    assert lines[1] == '1' and lines[5] == '' and lines[6] == '0' and lines[7] == 'cpu'


def test_probe_cpu_torch_with_force_cuda_is_reported(tmp_path, stub_root):
    _stubs(stub_root, cuda=None, torch_version='2.14.1+cpu')
    lines = _probe(tmp_path, FORCE_CUDA='1')
    assert lines[9] == ''  # setup_env.sh: a +cpu torch is not kept when CUDA is asked for
    assert lines[1] == '0'


#: the interpreter the venv was made from: no nvidia-* wheels (the venv's torch has them)
BASE_PYTHON = osp.join(sys.base_prefix, 'bin', 'python3')


def _cuda_env(tmp_path, **env):
    """Run tools/setup/cuda_env.sh's cuda_build_env; return (rc, output, CUDA_HOME, CPATH,
    NVCC_APPEND_FLAGS)."""
    script = (
        'say() { printf "[setup_env] %s\\n" "$*"; }; die() { echo "ERROR: $*"; exit 1; }; '
        f'PY={BASE_PYTHON}; source {REPO}/tools/setup/cuda_env.sh; cuda_build_env; '
        'echo "HOME=$CUDA_HOME"; echo "CPATH=${CPATH:-}"; echo "NVCC=${NVCC_APPEND_FLAGS:-}"'
    )
    environ = {k: v for k, v in os.environ.items() if k not in ('CUDA_HOME', 'CPATH')}
    environ.pop('NVCC_APPEND_FLAGS', None)
    environ.update(env)
    out = subprocess.run(['bash', '-c', script], env=environ, capture_output=True, text=True)
    lines = dict(line.split('=', 1) for line in out.stdout.splitlines() if '=' in line)
    return out.returncode, out.stdout, lines.get('HOME'), lines.get('CPATH'), lines.get('NVCC')


def test_cuda_build_env_finds_the_toolkit_behind_a_wrapper_and_wheel_headers(tmp_path):
    """A /usr/local/bin/nvcc wrapper made torch use CUDA_HOME=/usr/local (no headers) and the
    minimal toolkit has no cusparse.h: the CUDA build failed at its first .cu file."""
    toolkit = tmp_path / 'cuda-13.0'
    (toolkit / 'include').mkdir(parents=True)
    (toolkit / 'bin').mkdir()
    (toolkit / 'include' / 'cuda_runtime.h').write_text('')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    nvcc = bin_dir / 'nvcc'
    nvcc.write_text(
        '#!/bin/sh\n'
        'case "$*" in *--dryrun*) echo "#$ TOP=' + str(toolkit) + '/bin/.." >&2;; '
        '*--version*) echo "Cuda compilation tools, release 13.0, V13.0.88";; esac\n'
    )
    nvcc.chmod(0o755)
    wheels = tmp_path / 'site' / 'nvidia' / 'cu13' / 'include'
    wheels.mkdir(parents=True)
    (wheels / 'cusparse.h').write_text('')
    path = f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'
    rc, out, home, cpath, nvcc_flags = _cuda_env(
        tmp_path, PATH=path, PYTHONPATH=str(tmp_path / 'site')
    )
    assert rc == 0, out
    assert home == str(toolkit) and 'CUDA toolkit: ' + str(toolkit) + ' (13.0)' in out
    assert cpath == str(wheels) and nvcc_flags.strip() == f'-I{wheels}'
    # a toolkit with the library headers needs nothing more; CUDA_HOME given is kept
    (toolkit / 'include' / 'cusparse.h').write_text('')
    rc, out, home, cpath, nvcc_flags = _cuda_env(tmp_path, PATH=path, CUDA_HOME=str(toolkit))
    assert rc == 0 and home == str(toolkit) and cpath == '' and nvcc_flags == ''
    # no headers anywhere: a clear error, not a compiler failure an hour later
    (toolkit / 'include' / 'cusparse.h').unlink()
    rc, out, *_ = _cuda_env(tmp_path, PATH=path, PYTHONPATH=str(tmp_path / 'nothing'))
    assert rc == 1 and 'cusparse.h is in neither' in out
