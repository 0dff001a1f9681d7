"""Every config of configs/icu_loss parses, builds its model (and train pipeline) and has the
head its name and the README promise; the README maps every config."""

import copy
import glob
import importlib
import math
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'icu_loss')
CONFIGS = sorted(glob.glob(osp.join(FOLDER, '**', '*.py'), recursive=True))
# the ICU digits study's leaves (tools/studies/icu_digits.py) and their _base_ files: each
# arm's settings are resolved and checked arm by arm in tests/tools/test_studies_icu.py; here
# their models build and the README links every leaf
STUDY_DIR = osp.join(FOLDER, 'digits', 'study')
STUDY = sorted(p for p in CONFIGS if p.startswith(STUDY_DIR + os.sep))
CONFIGS = [p for p in CONFIGS if p not in STUDY]
NAMES = [osp.relpath(p, FOLDER) for p in CONFIGS]


def _pipelines(dataset_cfg):
    found = []
    if isinstance(dataset_cfg, dict):
        if isinstance(dataset_cfg.get('pipeline'), list):
            found.append(dataset_cfg['pipeline'])
        if isinstance(dataset_cfg.get('dataset'), dict):
            found += _pipelines(dataset_cfg['dataset'])
    return found


def test_configs_found():
    assert len(CONFIGS) == 40


def _check_no_decay_on_gaussians(model, cfg, softmax):
    """The optim wrapper built from the config: weight decay 0 on every Gaussian mean and
    log-variance, the config's decay on the other weights."""
    from mmengine.optim import build_optim_wrapper

    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    decay = {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            decay[id(p)] = group.get('weight_decay', 0.0)
    names = dict(model.named_parameters())
    gaussian = [n for n in names if n.endswith(('.means', '.log_vars'))]
    assert bool(gaussian) != softmax, gaussian
    assert all(decay[id(names[n])] == 0.0 for n in gaussian)
    base_decay = cfg.optim_wrapper.optimizer.get('weight_decay', 0.0)
    assert base_decay > 0
    # (frozen backbone stages are in no param group)
    assert any(decay.get(id(p)) == base_decay for n, p in names.items() if n not in gaussian)


@pytest.mark.parametrize('name', NAMES)
def test_config_parses_and_builds(name):
    cfg = Config.fromfile(osp.join(FOLDER, name))
    assert cfg.custom_imports == dict(imports=['mmext'], allow_failed_imports=False)
    scope = cfg.default_scope
    init_default_scope(scope)
    registry = importlib.import_module(f'{scope}.registry')
    for pipeline in _pipelines(cfg.train_dataloader.dataset):
        for transform in pipeline:
            registry.TRANSFORMS.build(copy.deepcopy(transform))
    model = registry.MODELS.build(copy.deepcopy(cfg.model))
    base = osp.basename(name)
    _check_no_decay_on_gaussians(model, cfg, base.startswith('softmax'))
    if scope == 'mmdet':
        head = model.roi_head.bbox_head
        assert type(head).__name__ == 'ICUBBoxHead'
        assert head.fc_cls.out_features == head.num_classes + 1
        return
    head = model.head
    method = base.split('_')[0]
    assert type(head).__name__ == ('LinearClsHead' if method == 'softmax' else 'ICUClsHead')
    if method != 'softmax':
        assert head.classifier.use_log_det
        if method == 'lgm':  # the L-GM loss: margin + likelihood term, no Eq. 14
            assert type(head.loss_module).__name__ == 'LGMLoss' and head.mode == 'lgm'
            assert (head.loss_module.alpha, head.loss_module.lambda_lkd) == (0.1, 0.01)
            assert (head.lambda_mu, head.lambda_sigma) == (0.0, 0.0)
        else:
            alpha, gamma = head.loss_module.alpha, head.loss_module.gamma
            expected = {
                'no-margin': (0.0, 0.0),
                'alpha-only': (1e-4, 0.0),
                'gamma-only': (0.0, 1e-3),
            }.get(base.split('_')[2], (1e-4, 1e-3))
            assert (alpha, gamma) == expected
            assert (head.lambda_mu, head.lambda_sigma) == (0.1, 0.1)
    ratio = re.search(r'-lt(\d+)\.py$', base)
    if ratio and 'digits' not in name:
        assert cfg.train_dataloader.dataset.type == 'mmext.LongTailSubset'
        assert cfg.train_dataloader.dataset.imbalance_ratio == int(ratio.group(1))
    # the feature dimension of the backbone/neck matches the head
    size = 32 if 'mnist' in name or 'cifar' in name else 28 if 'digits' in name else 64
    channels = 1 if 'mnist' in name else 3
    with torch.no_grad():
        model.eval()
        feats = model.extract_feat(torch.randn(2, channels, size, size))
        assert model.head(feats).shape == (2, head.num_classes)


def test_readme_maps_every_config():
    with open(osp.join(FOLDER, 'README.md')) as f:
        readme = f.read()
    missing = [n for n in NAMES if osp.basename(n) not in readme]
    assert not missing, f'configs not in README.md: {missing}'
    leaves = [osp.basename(p) for p in STUDY if '_base_' not in p]
    assert len(leaves) == 28  # 23 arms (the 4 reference arms are test-side) + 5 at 2x
    for name in leaves:
        assert f'](digits/study/{name})' in readme, name


def test_study_leaves_build():
    """Every study leaf and _base_ file builds its model; the head is its arm's (the name's
    algorithm and trick)."""
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    for path in STUDY:
        cfg = Config.fromfile(path)
        head = MODELS.build(copy.deepcopy(cfg.model)).head
        algo = osp.basename(path).split('_')[0]
        if algo == 'softmax':
            assert type(head).__name__ == 'LinearClsHead', path
            continue
        assert type(head).__name__ == 'ICUClsHead', path
        assert head.mode == ('lgm' if algo == 'lgm' else 'icu'), path


def test_vgg13_gradient_clipping_keeps_eq14_sum_scale_stable():
    """The safeguard documented in the README: with Eq. 14 at its sum scale, the CIFAR-100
    VGG-13 config's SGD (lr 0.1) diverges within a few steps on synthetic data without its
    gradient clipping and trains with it."""
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    cfg = Config.fromfile(osp.join(FOLDER, 'cifar', 'icu_vgg13bn_1xb128-nesterov-307e_cifar100.py'))
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=5.0)
    cfg.model.head.reg_reduction = 'sum'  # the head's default is 'mean' since issue 11
    init_default_scope('mmpretrain')
    registry = importlib.import_module('mmpretrain.registry')
    totals = {}
    for clip in (True, False):
        torch.manual_seed(0)
        model = registry.MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
        optim_cfg = copy.deepcopy(cfg.optim_wrapper)
        if not clip:
            optim_cfg.pop('clip_grad')
        optim = build_optim_wrapper(model, optim_cfg)
        g = torch.Generator().manual_seed(0)
        protos = torch.randn(100, 3, 32, 32, generator=g)
        history = []
        for _ in range(4):
            labels = torch.randint(0, 100, (16,), generator=g)
            images = protos[labels] + 0.5 * torch.randn(16, 3, 32, 32, generator=g)
            losses = model.loss(images, [DataSample().set_gt_label(int(z)) for z in labels])
            total = sum(losses.values())
            history.append(float(total))
            optim.update_params(total)
        totals[clip] = history
    assert all(math.isfinite(v) for v in totals[True])
    assert totals[True][-1] < totals[True][0]
    assert (
        not all(math.isfinite(v) for v in totals[False])
        or max(totals[False]) > 1e4 * totals[False][0]
    )
