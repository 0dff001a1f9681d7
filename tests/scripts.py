"""Run the repo's scripts in tests: import command-line scripts (``tools/``, ``benchmarks/``)
as modules, and launch distributed test workers under torchrun."""

import importlib.util
import os
import os.path as osp
import signal
import subprocess
import sys
from types import ModuleType
from typing import Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(relpath: str) -> ModuleType:
    """Execute a script of the repository as a fresh module (its ``main`` is not called).

    Args:
        relpath (str): Path relative to the repository root, e.g.
            ``'tools/analysis/plot_lr_schedule.py'``.

    Returns:
        ModuleType: The module, named after the file.
    """
    path = osp.join(REPO, relpath)
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_torchrun(worker: str, *args: str, timeout: float, nproc: int = 2) -> Tuple[int, str]:
    """Run ``worker`` under torchrun: ``nproc`` CPU processes, a rendezvous on a free port.

    The launcher gets its own process group, so a timeout kills the workers too; each process
    uses one thread and finds the repository (``tests``, ``mmext``) on its ``PYTHONPATH``.

    Args:
        worker (str): Path of the worker script.
        *args (str): The worker's command-line arguments.
        timeout (float): Seconds the ranks may take; past it the test fails with the log.
        nproc (int): Number of processes. Defaults to 2.

    Returns:
        Tuple[int, str]: The launcher's exit code and its log (stdout and stderr).
    """
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]),
    )
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone']
    command += ['--nproc_per_node', str(nproc), worker, *args]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
        pytest.fail(f'the {nproc} ranks did not finish within {timeout:g} s:\n{log[-3000:]}')
    return proc.returncode, log
