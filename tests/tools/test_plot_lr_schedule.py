"""Tests of tools/analysis/plot_lr_schedule.py."""

import json
import math

import pytest
from mmengine.config import Config

from tests.scripts import load_script

tool = load_script('tools/analysis/plot_lr_schedule.py')


def closed_form(step, base, warmup, total, f0, eta_min=0.0):
    if step < warmup:
        return base * (f0 + (1 - f0) * step / (warmup - 1))
    t = (step - warmup) / (total - warmup)
    return eta_min + 0.5 * (base - eta_min) * (1 + math.cos(math.pi * t))


def write_config(tmp_path, text):
    path = tmp_path / 'cfg.py'
    path.write_text(text)
    return str(path)


EPOCH_CFG = """
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=6)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=2, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=2, end=6, by_epoch=True, convert_to_iter_based=True),
]
"""


def test_epoch_based_chain_matches_closed_form_and_writes_png(tmp_path):
    cfg_path = write_config(tmp_path, EPOCH_CFG)
    out = tmp_path / 'lr.png'
    values_path = tmp_path / 'values.json'
    result = tool.main(
        [cfg_path, '--out', str(out), '--iters-per-epoch', '5', '--save-values', str(values_path)]
    )
    assert result['total_iters'] == 30 and result['iters_per_epoch'] == 5
    expected = [closed_form(i, 0.5, 10, 30, 0.1) for i in range(30)]
    assert result['values'] == pytest.approx(expected, rel=1e-9)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert json.loads(values_path.read_text())['values'] == pytest.approx(expected, rel=1e-9)


def test_unconverted_epoch_scheduler_steps_per_epoch(tmp_path):
    cfg = Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=4),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=1.0)),
            param_scheduler=dict(type='MultiStepLR', milestones=[1, 3], gamma=0.1, by_epoch=True),
        )
    )
    result = tool.compute_schedule(cfg, iters_per_epoch=3)
    assert result['values'] == pytest.approx([1.0] * 3 + [0.1] * 6 + [0.01] * 3)


def test_iteration_based_loop_and_default_end(tmp_path):
    cfg = Config(
        dict(
            custom_imports=dict(imports=['mmext'], allow_failed_imports=False),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=20),
            optim_wrapper=dict(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(type='SGD', lr=0.2, momentum=0.9),
            ),
            param_scheduler=[
                dict(type='mmext.WarmupCosineLR', warmup=4, warmup_start_factor=0.5, by_epoch=False)
            ],
        )
    )
    import mmext  # noqa: F401

    result = tool.compute_schedule(cfg)  # no epoch length needed
    assert result['values'] == pytest.approx(
        [closed_form(i, 0.2, 4, 20, 0.5) for i in range(20)], rel=1e-9
    )
    momentum = tool.compute_schedule(cfg, param='momentum')['values']
    assert momentum == pytest.approx([0.9] * 20)


def test_epoch_length_inferred_from_dataloader():
    cfg = Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=2),
            train_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='mmext_test_range', n=10),
            ),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            param_scheduler=[],
        )
    )
    import torch
    from mmengine.registry import DATASETS

    class Range(torch.utils.data.Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return i

    if DATASETS.get('mmext_test_range') is None:
        DATASETS.register_module(name='mmext_test_range', module=Range)
    result = tool.compute_schedule(cfg)
    assert result['iters_per_epoch'] == 3 and result['values'] == [0.1] * 6


def test_clear_errors(tmp_path):
    cfg = Config(
        dict(
            train_cfg=dict(by_epoch=True, max_epochs=2),
            train_dataloader=dict(batch_size=2, dataset=dict(type='CocoDataset', ann_file='nope')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            param_scheduler=[],
        )
    )
    with pytest.raises(ValueError, match='pass --iters-per-epoch'):
        tool.compute_schedule(cfg)
    with pytest.raises(ValueError, match='no train_cfg'):
        tool.compute_schedule(Config(dict(optim_wrapper=dict())))
    with pytest.raises(ValueError, match='param must be'):
        tool.compute_schedule(cfg, 2, param='wd')
    with pytest.raises(ValueError, match='positive'):
        tool.compute_schedule(cfg, 0)
