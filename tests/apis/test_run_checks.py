"""--cfg-options keys that would change nothing are refused (issue 26 item 5); the CPU
fall-back warns when GPUs were evidently expected (issue 30 item 2)."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmext  # noqa: F401
from mmext.apis import run_checks
from mmext.apis.launch import prepare_cfg
from mmext.apis.run_checks import check_cfg_options, warn_if_gpus_expected

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_CFG = osp.join(REPO, 'configs/digits/deeplabv3plus_r18-tiny_1xb8-2k_digits-seg.py')

TOY = """
max_iters = 20
lr = 0.5
model = dict(type='X')
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=lr))
param_scheduler = [dict(type='LinearLR', end=5), dict(type='CosineAnnealingLR', end=max_iters)]
"""


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / 'toy.py'
    path.write_text(TOY)
    return Config.fromfile(str(path))


def test_top_level_variable_is_refused_naming_the_keys_to_set(toy):
    with pytest.raises(ValueError) as err:
        check_cfg_options(toy, {'max_iters': 5, 'lr': 0.1})
    message = str(err.value)
    assert "'max_iters': `max_iters` is a variable of the config file" in message
    assert 'param_scheduler.1.end, train_cfg.max_iters' in message
    assert "'lr'" in message and 'optim_wrapper.optimizer.lr' in message


def test_unread_top_level_key_is_refused(toy):
    with pytest.raises(ValueError, match="'max_iter': nothing reads a top-level `max_iter`"):
        check_cfg_options(toy, {'max_iter': 5})


def test_keys_read_at_run_time_pass(toy):
    check_cfg_options(
        toy,
        {
            'train_cfg.max_iters': 5,
            'optim_wrapper.optimizer.lr': 0.1,
            'param_scheduler.1.end': 5,
            'work_dir': '/tmp/x',
            'randomness.seed': 1,
            'load_from': None,
            'tta_model': None,
            'default_hooks.checkpoint.interval': 3,
        },
    )


def test_custom_runner_type_only_warns(toy):
    toy.runner_type = 'MyRunner'
    check_cfg_options(toy, {'max_iter': 5})  # no error


def test_real_config_through_prepare_cfg():
    with pytest.raises(ValueError, match='`max_iters` is a variable of the config file'):
        prepare_cfg(SEG_CFG, cfg_options={'max_iters': 5})
    cfg = prepare_cfg(SEG_CFG, cfg_options={'train_cfg.max_iters': 5})
    assert cfg.train_cfg.max_iters == 5


def _no_gpu(monkeypatch, env=None, smi=0, cuda='13.0'):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.version, 'cuda', cuda)
    monkeypatch.setattr('mmext.utils.mmcv_ops.count_nvidia_smi_gpus', lambda: smi)
    for name in (
        'CUDA_VISIBLE_DEVICES',
        'MMEXT_DEVICE',
        'SLURM_GPUS_ON_NODE',
        'SLURM_JOB_GPUS',
        'SLURM_STEP_GPUS',
        'SLURM_GPUS',
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    'env, smi, cause',
    [
        ({'CUDA_VISIBLE_DEVICES': '0,1'}, 0, 'CUDA_VISIBLE_DEVICES=0,1'),
        ({'SLURM_JOB_GPUS': '0'}, 0, 'slurm allocated GPUs (SLURM_JOB_GPUS=0)'),
        ({}, 2, 'nvidia-smi lists 2 GPU(s)'),
    ],
)
def test_cpu_fallback_warns_when_gpus_were_expected(monkeypatch, env, smi, cause):
    _no_gpu(monkeypatch, env, smi)
    message = warn_if_gpus_expected()
    assert message is not None and cause in message and '--device cpu' in message
    assert 'driver too old' in message


def test_cpu_torch_is_named_and_cpu_intent_silences(monkeypatch):
    _no_gpu(monkeypatch, {'CUDA_VISIBLE_DEVICES': '0'}, cuda=None)
    assert 'torch is a CPU-only build' in warn_if_gpus_expected()
    assert warn_if_gpus_expected('cpu') is None
    monkeypatch.setenv('MMEXT_DEVICE', 'cpu')
    assert warn_if_gpus_expected() is None


@pytest.mark.parametrize('visible', ['', '-1'])
def test_no_warning_without_gpu_expectation(monkeypatch, visible):
    _no_gpu(monkeypatch, {'CUDA_VISIBLE_DEVICES': visible})
    assert warn_if_gpus_expected() is None
    assert run_checks._gpu_expectation() == ()
