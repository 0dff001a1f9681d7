"""Every config of configs/tilted_ce parses and builds its loss, evaluator and (Stochastic TCE)
batch sampler and hook; two full-scale models are built and run one loss step; the Focal
configs read alpha from the class-frequency tool's JSON and refuse to load without it; the
README maps every config."""
import copy
import glob
import json
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext.datasets.samplers import TiltedClassSampler
from mmext.engine.hooks import TiltedClassHook
from tests.scripts import load_script
from mmext.evaluation.metrics import FairIoUMetric
from mmext.models.losses import TiltedCrossEntropyLoss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'tilted_ce')
NAMES = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, '*.py')))
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
        self.rows = [[i % num_classes] + rng.choice(num_classes, size=2).tolist()
                     for i in range(max(40, num_classes))]

    def __len__(self):
        return len(self.rows)

    def get_data_info(self, idx):
        return dict(img_path=f'{idx}.png')

    def get_cat_ids(self, idx):
        return self.rows[idx]


def test_readme_maps_every_config():
    readme = open(osp.join(FOLDER, 'README.md')).read()
    for name in NAMES:
        assert name in readme, name


ALPHA_FILES = {  # the Focal configs' focal_alpha_file, relative to the working directory
    11: osp.join('data', 'digits_seg', 'class_pixel_frequency.json'),
    19: osp.join('data', 'cityscapes', 'class_pixel_frequency.json'),
    150: osp.join('data', 'ade', 'ADEChallengeData2016', 'class_pixel_frequency.json'),
}


def write_alpha_files(root):
    """Write class-frequency JSONs as the tool does (alpha_c proportional to 1 / (c + 1))."""
    alphas = {}
    for k, rel in ALPHA_FILES.items():
        inv = 1.0 / np.arange(1, k + 1)
        alphas[k] = (inv / inv.sum()).tolist()
        path = osp.join(root, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(dict(focal_alpha=alphas[k]), f)
    return alphas


@pytest.mark.parametrize('name', NAMES)
def test_config_parses_and_builds(name, tmp_path, monkeypatch):
    alphas = write_alpha_files(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the Focal configs read alpha relative to the cwd
    cfg = Config.fromfile(osp.join(FOLDER, name))
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
    else:
        assert type(loss).__name__ == 'CrossEntropyLoss'
    metric = METRICS.build(copy.deepcopy(cfg.val_evaluator))
    assert isinstance(metric, FairIoUMetric) and metric.dump_json
    if trick.startswith('stce'):
        bs_cfg = copy.deepcopy(cfg.train_dataloader.batch_sampler)
        fake = SimpleNamespace(dataset=CatDataset(num_classes), seed=0)
        sampler = DATA_SAMPLERS.build(
            bs_cfg, default_args=dict(sampler=fake, batch_size=cfg.train_dataloader.batch_size))
        assert isinstance(sampler, TiltedClassSampler) and sampler.infinite
        (hook_cfg, ) = cfg.custom_hooks
        hook = HOOKS.build(copy.deepcopy(hook_cfg))
        assert isinstance(hook, TiltedClassHook) and hook.loss_key == 'decode.loss_ce'
        assert hook.tilt == {'stce-t0p1': 0.1, 'stce-t1': 1.0}[trick]
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


def test_focal_reads_alpha_from_the_frequency_tool(tmp_path, monkeypatch):
    tool = load_script('tools/analysis/class_pixel_frequency.py')
    focal_alpha = tool.focal_alpha
    counts = np.arange(1, 20) * 1000
    alpha = focal_alpha(counts)
    path = tmp_path / 'data' / 'cityscapes' / 'class_pixel_frequency.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(dict(focal_alpha=alpha.tolist())))
    monkeypatch.chdir(tmp_path)  # the config's path is relative to the working directory
    cfg = Config.fromfile(
        osp.join(FOLDER, 'deeplabv3plus_r101-d8_focal_4xb2-80k_cityscapes-512x1024.py'))
    assert cfg.model.decode_head.loss_decode.alpha == pytest.approx(alpha.tolist())
    assert cfg.model.decode_head.loss_decode.gamma == 2.0
    for key in ('json', 'osp', '_f'):
        assert key not in cfg  # module objects and the file handle are dropped


@pytest.mark.parametrize('name', [n for n in NAMES if '_focal_' in n])
def test_focal_without_alpha_file_is_an_error(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/... here
    with pytest.raises(FileNotFoundError, match='class_pixel_frequency.py'):
        Config.fromfile(osp.join(FOLDER, name))
    # the documented explicit option: a leaf config that sets focal_alpha itself
    text = open(osp.join(FOLDER, name)).read()
    assert text.count('focal_alpha = None') == 1
    leaf = tmp_path / name
    leaf.write_text(text.replace('focal_alpha = None', 'focal_alpha = 0.25').replace(
        "_base_ = ['./", f"_base_ = ['{FOLDER}/"))
    cfg = Config.fromfile(str(leaf))
    assert cfg.model.decode_head.loss_decode.alpha == 0.25
    # a wrong number of alphas is refused
    num_classes = 11 if 'digits' in name else 19 if 'cityscapes' in name else 150
    path = tmp_path / ALPHA_FILES[num_classes]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(dict(focal_alpha=[0.5, 0.5])))
    with pytest.raises(ValueError, match=f'2 entries, .* {num_classes} classes'):
        Config.fromfile(osp.join(FOLDER, name))
