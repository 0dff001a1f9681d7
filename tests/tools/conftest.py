import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_CFG = osp.join(REPO, 'configs/digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py')
DET_CFG = osp.join(REPO, 'configs/digits/faster-rcnn_r18-tiny-fpn_1xb8-1k_digits-det.py')
# short runs: no validation before the end, logs every iteration
SHORT = [
    'train_cfg.val_interval=100000',
    'default_hooks.logger.interval=1',
    'val_dataloader.dataset.indices=16',
    'test_dataloader.dataset.indices=16',
]


@pytest.fixture(scope='session')
def workspace(tmp_path_factory):
    """A working directory shared by the tool tests: the digits data is built once there."""
    return str(tmp_path_factory.mktemp('tools_ws'))


def tool_env() -> dict:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHON=sys.executable,
        PYTHONPATH=REPO + os.pathsep + env.get('PYTHONPATH', ''),
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, cwd, timeout=600, env=None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        cmd, cwd=cwd, env=env or tool_env(), capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, (
        f'{cmd} failed\nSTDOUT:\n{out.stdout[-4000:]}\nSTDERR:\n{out.stderr[-6000:]}'
    )
    return out


TRAIN = osp.join(REPO, 'tools/train.py')
TEST = osp.join(REPO, 'tools/test.py')


def tool_cmd(tool, config, *args, work_dir, flags=(), options=()) -> list:
    """The command line of ``tools/train.py`` or ``tools/test.py``.

    Args:
        tool (str): ``TRAIN`` or ``TEST``.
        config (str): The config file.
        *args (str): Positional arguments after the config (the checkpoint of ``TEST``).
        work_dir (str): ``--work-dir``.
        flags (Sequence[str]): Further flags (e.g. ``'--resume'``).
        options (Sequence[str]): ``--cfg-options`` (none when empty).

    Returns:
        list: The command, run by this Python interpreter.
    """
    cmd = [sys.executable, tool, config, *args, '--work-dir', work_dir, *flags]
    return cmd + ['--cfg-options', *options] if options else cmd


def run_tool(tool, config, *args, cwd, work_dir, flags=(), options=()) -> str:
    """Run :func:`tool_cmd`'s command in ``cwd`` (it must succeed).

    Returns:
        str: Its log (stdout then stderr).
    """
    out = run(tool_cmd(tool, config, *args, work_dir=work_dir, flags=flags, options=options), cwd)
    return out.stdout + out.stderr


@pytest.fixture
def fake_runner(tmp_path, monkeypatch):
    """:class:`~tools.studies.harness.Runner` with the fake training of
    :data:`tests.tools.harness_helpers.FAKE_TRAIN` as every run's command.

    Returns:
        tuple: ``(runs, calls)``: the runs folder (``tmp_path / 'runs'``, not created) and a
        function that lists the fake trainings started so far (``'<variant> <seed>'``).
    """
    from tests.tools.harness_helpers import FAKE_TRAIN
    from tools.studies import harness

    script = tmp_path / 'fake_train.py'
    script.write_text(FAKE_TRAIN)

    def command(self, variant, seed, run_dir):
        return [sys.executable, str(script), run_dir, variant.name, str(seed)]

    monkeypatch.setattr(harness.Runner, 'command', command)
    runs = tmp_path / 'runs'

    def calls():
        path = runs / 'calls.txt'
        return path.read_text().split('\n')[:-1] if path.exists() else []

    return runs, calls
