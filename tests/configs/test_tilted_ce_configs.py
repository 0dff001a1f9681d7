"""Every config of configs/tilted_ce parses and builds its loss, evaluator and (Stochastic TCE)
batch sampler and hook; two full-scale models are built and run one loss step; the Focal
configs inherit alpha from the config base file the class-frequency tool writes and refuse to
load without it; the README maps every config (the study leaves of digits/study/ included)."""

import copy
import glob
import json
import os
import os.path as osp
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext.datasets.samplers import TiltedClassSampler
from mmext.engine.hooks import TiltedClassHook
from mmext.evaluation.metrics import FairIoUMetric
from mmext.models.losses import TiltedCrossEntropyLoss
from tests.scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'tilted_ce')
NAMES = sorted(  # the full-scale configs and, under digits/, their CPU counterparts
    osp.relpath(p, FOLDER)
    for pattern in ('*.py', 'digits/*.py')
    for p in glob.glob(osp.join(FOLDER, pattern))
)
FULL_BUILD = [
    'deeplabv3plus_r101-d8_tce-cls-t1_4xb2-80k_cityscapes-512x1024.py',
    'deeplabv3plus_r101-d8_stce-t0p1_4xb4-160k_ade20k-512x512.py',
]


class CatDataset:
    """Images with ``get_cat_ids`` (the class index's detection path): no files needed."""

    def __init__(self, num_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))
        # every class occurs: image i holds class i % K and two random ones
        self.rows = [
            [i % num_classes] + rng.choice(num_classes, size=2).tolist()
            for i in range(max(40, num_classes))
        ]

    def __len__(self):
        return len(self.rows)

    def get_data_info(self, idx):
        return dict(img_path=f'{idx}.png')

    def get_cat_ids(self, idx):
        return self.rows[idx]


# the Tilted-CE study's arms (tools/studies/tce_digits.py; resolved and checked arm by arm in
# tests/tools/test_studies_tce.py)
STUDY = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, 'digits', 'study', '*.py')))


def test_readme_maps_every_config():
    readme = open(osp.join(FOLDER, 'README.md')).read()
    for name in NAMES:
        assert name in readme, name
    assert len(STUDY) == 12  # 9 arms, 2 length checks at 2x, CE of the stage length-8k
    for name in STUDY:
        assert f'](digits/study/{name})' in readme, name


ALPHA_BASES = {  # the full-scale Focal configs' alpha bases (the digits one is committed)
    19: 'focal_alpha_cityscapes.py',
    150: 'focal_alpha_ade20k.py',
}
tool = load_script('tools/analysis/class_pixel_frequency.py')


def configs_with_alpha_bases(root):
    """Copy configs/ under ``root`` and write the full-scale alpha bases there as the tool
    does (alpha_c proportional to 1 / (c + 1)); returns the copied tilted_ce folder and the
    alphas per class count (11: the committed digits base)."""
    shutil.copytree(osp.join(REPO, 'configs'), osp.join(root, 'configs'))
    folder = osp.join(root, 'configs', 'tilted_ce')
    alphas = {}
    for k, base in ALPHA_BASES.items():
        inv = 1.0 / np.arange(1, k + 1)
        alphas[k] = (inv / inv.sum()).tolist()
        tool.write_alpha_base(
            osp.join(folder, '_base_', base),
            dict(
                config='c.py',
                split='train',
                classes=[str(c) for c in range(k)],
                focal_alpha=alphas[k],
            ),
            ['c.py'],
        )
    committed = Config.fromfile(osp.join(FOLDER, '_base_', 'focal_alpha_digits-seg.py'))
    alphas[11] = committed.focal_alpha
    return folder, alphas


@pytest.mark.parametrize('name', NAMES)
def test_config_parses_and_builds(name, tmp_path):
    folder, alphas = configs_with_alpha_bases(str(tmp_path))
    cfg = Config.fromfile(osp.join(folder, name))
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    num_classes = cfg.model.decode_head.num_classes
    if 'cityscapes' in name or 'ade20k' in name:
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.optim_wrapper.optimizer.momentum == 0.9
        assert cfg.model.backbone.depth == 101
        assert num_classes == (19 if 'cityscapes' in name else 150)
    if 'cityscapes' in name:  # total batch 8 as in the paper
        assert cfg.train_dataloader.batch_size * 4 == 8
    init_default_scope('mmseg')
    from mmseg.registry import DATA_SAMPLERS, HOOKS, METRICS, MODELS

    loss = MODELS.build(copy.deepcopy(cfg.model.decode_head.loss_decode))
    trick = name.split('_')[2]
    if trick.startswith('tce-'):
        assert isinstance(loss, TiltedCrossEntropyLoss)
        assert loss.level == {'img': 'image', 'cls': 'class'}[trick.split('-')[1]]
        assert loss.tilt == {'t0p1': 0.1, 't1': 1.0}[trick.split('-')[2]]
    elif trick == 'focal':
        # mmseg's FocalLoss on the full-scale GPU configs; mmext.SegFocalLoss on the CPU
        # digits config (mmseg's CPU branch cannot train segmentation logits)
        expected = 'SegFocalLoss' if 'digits' in name else 'FocalLoss'
        assert type(loss).__name__ == expected and loss.gamma == 2.0
        assert loss.alpha == pytest.approx(alphas[num_classes])
    elif trick.startswith('stce-cls'):
        # the per-class reading of L_B: mmseg's CE that also records the per-class CE
        assert type(loss).__name__ == 'ClassTrackedCrossEntropyLoss'
        assert isinstance(loss, MODELS.get('CrossEntropyLoss'))
    else:
        assert type(loss).__name__ == 'CrossEntropyLoss'
    metric = METRICS.build(copy.deepcopy(cfg.val_evaluator))
    assert isinstance(metric, FairIoUMetric) and metric.dump_json
    if trick.startswith('stce'):
        bs_cfg = copy.deepcopy(cfg.train_dataloader.batch_sampler)
        fake = SimpleNamespace(dataset=CatDataset(num_classes), seed=0)
        sampler = DATA_SAMPLERS.build(
            bs_cfg, default_args=dict(sampler=fake, batch_size=cfg.train_dataloader.batch_size)
        )
        assert isinstance(sampler, TiltedClassSampler) and sampler.infinite
        (hook_cfg,) = cfg.custom_hooks
        hook = HOOKS.build(copy.deepcopy(hook_cfg))
        assert isinstance(hook, TiltedClassHook) and hook.loss_key == 'decode.loss_ce'
        assert hook.tilt == {'stce-t0p1': 0.1, 'stce-t1': 1.0, 'stce-cls-t1': 1.0}[trick]
        assert hook.batch_loss == ('class' if trick.startswith('stce-cls') else 'batch')
        hook.setup(sampler)
        np.testing.assert_allclose(sampler.class_weights, 1 / num_classes)
    else:
        assert 'batch_sampler' not in cfg.train_dataloader


@pytest.mark.parametrize('name', FULL_BUILD)
def test_full_model_builds_and_computes_its_loss(name):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    cfg = Config.fromfile(osp.join(FOLDER, name))
    init_default_scope('mmseg')
    cfg.model.pretrained = None  # no download
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    num_classes = cfg.model.decode_head.num_classes
    samples = []
    for _ in range(2):  # BN of the ASPP image pool needs more than one value per channel
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, 64, 64)))
        sample.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(sample)
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    assert torch.isfinite(losses['decode.loss_tce' if '_tce-' in name else 'decode.loss_ce'])


def test_focal_inherits_alpha_from_the_base_the_tool_writes(tmp_path):
    counts = np.arange(1, 20) * 1000
    alpha = tool.focal_alpha(counts)
    inv = 1.0 / (counts / counts.sum())
    np.testing.assert_allclose(alpha, inv / inv.sum())  # Sec. 3, by hand
    shutil.copytree(osp.join(REPO, 'configs'), str(tmp_path / 'configs'))
    base = tmp_path / 'configs' / 'tilted_ce' / '_base_' / 'focal_alpha_cityscapes.py'
    tool.write_alpha_base(
        str(base),
        dict(
            config='x.py',
            split='train',
            classes=[f'c{i}' for i in range(19)],
            focal_alpha=alpha.tolist(),
        ),
        ['x.py'],
    )
    text = base.read_text()
    assert 'class_pixel_frequency.py x.py' in text and 'focal_alpha = [' in text
    cfg = Config.fromfile(
        str(
            tmp_path
            / 'configs'
            / 'tilted_ce'
            / 'deeplabv3plus_r101-d8_focal_4xb2-80k_cityscapes-512x1024.py'
        )
    )
    assert cfg.model.decode_head.loss_decode.alpha == pytest.approx(alpha.tolist())
    assert cfg.model.decode_head.loss_decode.gamma == 2.0
    with pytest.raises(ValueError, match='must end with .py'):
        tool.write_alpha_base(
            str(tmp_path / 'a.json'), dict(config='x', split='train', classes=[], focal_alpha=[])
        )


def test_digits_alpha_base_is_the_tools_output_on_the_digits_data():
    """The committed digits base is the normalised inverse pixel frequency (by hand) of the
    digits train split's pixel counts, when that data has been built on this machine."""
    committed = Config.fromfile(osp.join(FOLDER, '_base_', 'focal_alpha_digits-seg.py'))
    assert len(committed.focal_alpha) == 11 and committed.focal_alpha_classes[0] == 'background'
    assert sum(committed.focal_alpha) == pytest.approx(1.0)
    path = osp.join(REPO, 'data', 'digits_seg', 'class_pixel_frequency.json')
    if not osp.isfile(path):
        pytest.skip('digits data not built on this machine')
    with open(path) as f:
        counts = np.array(json.load(f)['pixel_count'], dtype=np.float64)
    inv = counts.sum() / counts
    np.testing.assert_allclose(committed.focal_alpha, inv / inv.sum(), rtol=1e-12)


@pytest.mark.parametrize('name', [n for n in NAMES if '_focal_' in n and 'digits' not in n])
def test_focal_without_alpha_base_is_an_error(name, tmp_path):
    shutil.copytree(osp.join(REPO, 'configs'), str(tmp_path / 'configs'))
    folder = str(tmp_path / 'configs' / 'tilted_ce')
    base = 'focal_alpha_cityscapes.py' if 'cityscapes' in name else 'focal_alpha_ade20k.py'
    if osp.exists(osp.join(folder, '_base_', base)):  # a user's own generated file
        os.remove(osp.join(folder, '_base_', base))
    with pytest.raises(FileNotFoundError, match=base):
        Config.fromfile(osp.join(folder, name))
    # the documented explicit option: a leaf that sets focal_alpha itself (with any base)
    text = open(osp.join(FOLDER, name)).read()
    assert text.count('focal_alpha = _base_.focal_alpha') == 1
    with open(osp.join(folder, '_base_', base), 'w') as f:
        f.write('focal_alpha = [0.5]\n')
    leaf = osp.join(folder, 'leaf.py')
    with open(leaf, 'w') as f:
        f.write(text.replace('focal_alpha = _base_.focal_alpha', 'focal_alpha = 0.25'))
    assert Config.fromfile(leaf).model.decode_head.loss_decode.alpha == 0.25
