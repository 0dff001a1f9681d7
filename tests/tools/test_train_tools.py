"""End-to-end runs of mmext's tools: resume after a kill, test, --amp, 2-process gloo DDP;
the launch scripts' usage line."""

import json
import os
import os.path as osp
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from .conftest import (
    DET_CFG,
    REPO,
    SEG_CFG,
    SHORT,
    TEST,
    TRAIN,
    free_port,
    run,
    run_tool,
    tool_cmd,
    tool_env,
)


def _load(path):
    import mmext  # noqa: F401  (weights-only loading of mmengine checkpoints)

    return torch.load(path, map_location='cpu')


def test_train_kill_resume_then_test(workspace):
    work_dir = osp.join(workspace, 'resume')
    cmd = tool_cmd(
        TRAIN,
        SEG_CFG,
        work_dir=work_dir,
        options=['train_cfg.max_iters=1000', 'default_hooks.checkpoint.interval=2', *SHORT],
    )
    proc = subprocess.Popen(
        cmd,
        cwd=workspace,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    first = osp.join(work_dir, 'iter_2.pth')
    deadline = time.time() + 400
    try:
        while not osp.exists(osp.join(work_dir, 'last_checkpoint')):
            assert proc.poll() is None, proc.stdout.read()[-5000:]
            assert time.time() < deadline, 'no checkpoint within 400 s'
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # killed mid-run, as a crash would
        proc.wait()
    assert osp.exists(first)
    saved = _load(first)
    assert saved['meta']['iter'] == 2

    log = run_tool(
        TRAIN,
        SEG_CFG,
        cwd=workspace,
        work_dir=work_dir,
        flags=['--resume'],
        options=['train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2', *SHORT],
    )
    assert 'resumed epoch: 0, iter: 2' in log, log[-3000:]
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    final = _load(osp.join(work_dir, 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    # the message hub came back too: its loss history holds all 4 iterations
    loss_hist = final['message_hub']['log_scalars']['train/loss']
    assert len(loss_hist.data[0]) == 4

    metrics_file = osp.join(work_dir, 'test_metrics.json')
    log = run_tool(
        TEST,
        SEG_CFG,
        osp.join(work_dir, 'iter_4.pth'),
        cwd=workspace,
        work_dir=osp.join(work_dir, 'test'),
        flags=['--out', metrics_file],
        options=SHORT,
    )
    assert 'per class results' in log and '|     9      |' in log
    metrics = json.load(open(metrics_file))
    assert 0.0 <= metrics['mIoU'] <= 100.0 and 'aAcc' in metrics


def test_amp_on_cpu_uses_bf16_autocast(workspace):
    work_dir = osp.join(workspace, 'amp')
    log = run_tool(
        TRAIN,
        SEG_CFG,
        cwd=workspace,
        work_dir=work_dir,
        flags=['--amp'],
        options=['train_cfg.max_iters=2', *SHORT],
    )
    dumped = open(osp.join(work_dir, osp.basename(SEG_CFG))).read()
    assert "type='mmext.CPUAutocastOptimWrapper'" in dumped
    assert "dtype='bfloat16'" in dumped
    assert 'Iter(train) [2/2]' in log


def test_dist_train_two_processes_gloo(workspace):
    work_dir = osp.join(workspace, 'ddp')
    env = tool_env()
    env['PORT'] = str(free_port())
    out = run(
        [
            'bash',
            osp.join(REPO, 'tools/dist_train.sh'),
            SEG_CFG,
            '2',
            '--work-dir',
            work_dir,
            '--cfg-options',
            'train_cfg.max_iters=3',
            *SHORT,
        ],
        cwd=workspace,
        env=env,
    )
    log = out.stdout + out.stderr
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert 'Iter(train) [3/3]' in log
    ckpt = _load(osp.join(work_dir, 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    # the DDP wrapper was stripped (keys of the plain model)
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])


def _fake_launchers(tmp_path):
    """``python`` and ``srun`` stand-ins that record their arguments instead of launching."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name in ('python', 'srun'):
        fake = bin_dir / name
        fake.write_text(f'#!/bin/sh\necho {name} "$@" >> {tmp_path / "launched"}\n')
        fake.chmod(0o755)
    env = dict(
        os.environ,
        PYTHON=str(bin_dir / 'python'),
        PATH=str(bin_dir) + os.pathsep + os.environ['PATH'],
    )
    return env, tmp_path / 'launched'


LAUNCH_SCRIPTS = {
    'dist_train.sh': 'CONFIG NUM_PROCS [train.py args]',
    'dist_test.sh': 'CONFIG CHECKPOINT NUM_PROCS [test.py args]',
    'slurm_train.sh': 'PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]',
    'slurm_test.sh': 'PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]',
}


@pytest.mark.parametrize(
    'script, args',
    [
        ('dist_train.sh', []),
        ('dist_train.sh', ['cfg.py']),
        ('dist_train.sh', ['cfg.py', 'two']),
        ('dist_test.sh', []),
        ('dist_test.sh', ['cfg.py', 'ckpt.pth']),
        ('dist_test.sh', ['cfg.py', 'ckpt.pth', '0']),
        ('slurm_train.sh', []),
        ('slurm_train.sh', ['part', 'job', 'cfg.py']),
        ('slurm_test.sh', []),
        ('slurm_test.sh', ['part', 'job', 'cfg.py']),
    ],
)
def test_launch_scripts_print_usage_without_their_arguments(tmp_path, script, args):
    """They used to start torchrun / srun, which failed with an unrelated error."""
    env, launched = _fake_launchers(tmp_path)
    path = osp.join(REPO, 'tools', script)
    out = subprocess.run(['bash', path, *args], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr == f'usage: bash {path} {LAUNCH_SCRIPTS[script]}\n'
    assert not launched.exists()


@pytest.mark.parametrize(
    'script, args, expected',
    [
        (
            'dist_train.sh',
            ['cfg.py', '2', '--amp'],
            '--nproc_per_node=2 --master_port=29500 tools/train.py cfg.py --launcher pytorch --amp',
        ),
        (
            'dist_test.sh',
            ['cfg.py', 'c.pth', '3'],
            '--nproc_per_node=3 --master_port=29500 tools/test.py cfg.py c.pth --launcher pytorch',
        ),
        (
            'slurm_train.sh',
            ['p', 'j', 'cfg.py', 'wd', '--amp'],
            'tools/train.py cfg.py --work-dir=wd --launcher=slurm --amp',
        ),
        (
            'slurm_test.sh',
            ['p', 'j', 'cfg.py', 'c.pth'],
            'tools/test.py cfg.py c.pth --launcher=slurm',
        ),
    ],
)
def test_launch_scripts_with_their_arguments_launch(tmp_path, script, args, expected):
    env, launched = _fake_launchers(tmp_path)
    env.pop('PORT', None)
    out = subprocess.run(
        ['bash', osp.join(REPO, 'tools', script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert launched.read_text().rstrip('\n').endswith(expected)


CLS_CFG = osp.join(REPO, 'configs/digits/resnet-tiny_1xb32-1k_digits-cls.py')


def test_det_and_cls_train_then_test(workspace):
    """Short train + test of the digits detector (COCO mAP via pycocotools) and classifier
    (the two pipelines side by side: one process each)."""

    def train_then_test(config, metric_key):
        name = osp.splitext(osp.basename(config))[0]
        work_dir = osp.join(workspace, name)
        run_tool(
            TRAIN,
            config,
            cwd=workspace,
            work_dir=work_dir,
            options=['train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', *SHORT],
        )
        metrics_file = osp.join(work_dir, 'metrics.json')
        run_tool(
            TEST,
            config,
            osp.join(work_dir, 'iter_2.pth'),
            cwd=workspace,
            work_dir=osp.join(work_dir, 'test'),
            flags=['--out', metrics_file],
            options=SHORT,
        )
        metrics = json.load(open(metrics_file))
        assert metric_key in metrics, metrics
        return metrics[metric_key]

    jobs = ((DET_CFG, 'coco/bbox_mAP'), (CLS_CFG, 'accuracy/top1'))
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(train_then_test, *job) for job in jobs]
        det_map, cls_acc = [f.result() for f in futures]
    assert det_map == det_map and 0 <= det_map <= 1  # not NaN, a fraction
    assert cls_acc == cls_acc and 0 <= cls_acc <= 100  # not NaN, in percent
