"""Every config of configs/balance_batch parses and builds its loss and batch sampler;
one config per loss builds its ASPP head and one the whole DeepLab model, and they train
one step on a batch of one image; the generated leaves are up to date; the README maps
every config (the study leaves of digits/study/ included)."""

import copy
import glob
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import InfiniteSampler
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext.datasets.samplers import BalanceBatchSampler, ClassIndex

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'balance_batch')
NAMES = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, '*.py')))
HEAD_BUILD = [
    'deeplabv3_r101-d8_ce-bb-cl12_1xb9-20k_voc12aug-512x512.py',
    'deeplabv3_r101-d8_soft-iou-bb-cl4_1xb4-20k_voc12aug-512x512.py',
    'deeplabv3_r101-d8_soft-dice-bb-cl8_1xb6-20k_voc12aug-512x512.py',
]


class VocLikeDataset:
    """21 VOC classes; each image holds background and 1-4 objects (long-tailed)."""

    metainfo = dict(classes=('background',) + tuple(f'obj{i}' for i in range(20)))

    def __init__(self, n=600, seed=0):
        rng = np.random.default_rng(seed)
        freq = 1.0 / np.arange(1, 21)
        freq /= freq.sum()
        self.index = ClassIndex.from_lists(
            [
                [0]
                + (
                    1
                    + rng.choice(
                        20, size=int(rng.choice([1, 1, 2, 2, 3, 4])), replace=False, p=freq
                    )
                ).tolist()
                for _ in range(n)
            ],
            21,
        )

    def __len__(self):
        return len(self.index)


def test_generated_leaves_are_current_and_counted():
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'make_balance_batch_configs.py'),
            '--check',
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 3 losses x 12 batch sizes + batch_cl sweeps 2..12 (CE), 2..6 (IoU), 2..8 (Dice)
    assert len(NAMES) == 36 + 11 + 5 + 7


DIGITS = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, 'digits', '*.py')))
# the Balance-batch study's arms (tools/studies/balance_batch_digits.py; resolved and checked
# arm by arm in tests/tools/test_studies_balance_batch.py)
STUDY = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, 'digits', 'study', '*.py')))


def test_readme_maps_every_config():
    readme = open(osp.join(FOLDER, 'README.md')).read()
    for name in NAMES + DIGITS:
        assert name in readme, name
    assert len(STUDY) == 34
    for name in STUDY:
        assert f'](digits/study/{name})' in readme, name


@pytest.mark.parametrize('name', DIGITS)
def test_digits_config_parses_and_builds(name):
    cfg = Config.fromfile(osp.join(FOLDER, 'digits', name))
    assert cfg.model.auxiliary_head is None
    assert cfg.val_evaluator.type == 'mmext.FairIoUMetric'
    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    loss = MODELS.build(copy.deepcopy(cfg.model.decode_head.loss_decode))
    assert (
        type(loss).__name__
        == {'ce': 'CrossEntropyLoss', 'soft-dice': 'SoftDiceLoss', 'soft-iou': 'SoftIoULoss'}[
            re.match(r'soft-dice|soft-iou|ce', name.split('_')[2]).group(0)
        ]
    )
    sampler = cfg.train_dataloader.get('batch_sampler')
    assert ('-bb-cl11_' in name) == (sampler is not None)
    if sampler is not None:
        assert sampler.batch_cl == 11 and cfg.train_dataloader.batch_size == 8


@pytest.mark.parametrize('name', NAMES)
def test_config_parses_and_builds_loss_and_sampler(name):
    cfg = Config.fromfile(osp.join(FOLDER, name))
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    assert cfg.optim_wrapper.optimizer.lr == 2.5e-4
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.train_cfg.max_iters == 20000
    assert cfg.model.auxiliary_head is None
    assert cfg.val_evaluator.type == 'mmext.FairIoUMetric'
    init_default_scope('mmseg')
    from mmseg.registry import DATA_SAMPLERS, MODELS

    loss = MODELS.build(copy.deepcopy(cfg.model.decode_head.loss_decode))
    expected = {'soft-dice': 'SoftDiceLoss', 'soft-iou': 'SoftIoULoss'}.get(
        name.split('_')[2].split('-bb')[0], 'CrossEntropyLoss'
    )
    assert type(loss).__name__ == expected
    loader = cfg.train_dataloader
    if 'batch_sampler' not in loader:
        assert '-bb-' not in name and f'_1xb{loader.batch_size}-' in name
        return
    dataset = VocLikeDataset()
    sampler = DATA_SAMPLERS.build(
        copy.deepcopy(loader.batch_sampler),
        default_args=dict(
            sampler=InfiniteSampler(dataset, seed=0),
            batch_size=loader.batch_size,
            class_index=dataset.index,
        ),
    )
    assert isinstance(sampler, BalanceBatchSampler) and sampler.infinite
    assert f'-cl{sampler.batch_cl}_1xb{sampler.batch_max}-' in name
    plan = sampler.plan(0)
    assert max(len(b) for b in plan) <= sampler.batch_max


@pytest.mark.parametrize('name', HEAD_BUILD)
def test_head_trains_a_one_image_batch(name):
    """Balance-batch can form batches of one image: the GN head must train on them."""
    cfg = Config.fromfile(osp.join(FOLDER, name))
    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    head = MODELS.build(copy.deepcopy(cfg.model.decode_head))
    head.train()
    sample = _sample()
    feats = [None] * head.in_index + [torch.randn(1, head.in_channels, 8, 8)]
    losses = head.loss(feats, [sample], train_cfg=dict())
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert torch.isfinite(total)
    total.backward()


def _sample(size=64):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 21, (1, size, size)))
    sample.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size)))
    return sample


def test_full_model_trains_a_one_image_batch():
    cfg = Config.fromfile(osp.join(FOLDER, HEAD_BUILD[-1]))
    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pretrained = None
    model_cfg.backbone.norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs dist
    model = MODELS.build(model_cfg)
    model.train()
    losses = model.loss(torch.randn(1, 3, 64, 64), [_sample()])
    total = sum(v for k, v in losses.items() if k.startswith('decode.loss_'))
    assert set(losses) >= {'decode.loss_soft_dice'} and torch.isfinite(total)
    total.backward()
