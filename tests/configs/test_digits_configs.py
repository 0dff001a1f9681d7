"""Every config of configs/digits parses, builds its model and datasets (small, in a temp
dir), trains one step with finite losses and is scored by its evaluator on a val batch;
the README names every config."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

import mmext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FOLDER = osp.join(REPO, 'configs', 'digits')
NAMES = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, '*.py')))
SCOPES = {'seg': 'mmseg', 'det': 'mmdet', 'cls': 'mmpretrain'}


def test_readme_maps_every_config():
    readme = open(osp.join(FOLDER, 'README.md')).read()
    assert len(NAMES) >= 4
    for name in NAMES:
        assert name in readme, name


def _small(cfg: Config, root: str, task: str) -> None:
    """Point the config's datasets at ``root`` and shrink them."""
    for key, size in (('train_dataloader', 16), ('val_dataloader', 8)):
        loader = cfg[key]
        loader.update(num_workers=0, persistent_workers=False, batch_size=4)
        loader.dataset.data_root = root
        if task == 'cls':
            loader.dataset.max_per_class = size
        else:
            loader.dataset.num_images = size
    if task == 'det':
        cfg.val_evaluator.ann_file = osp.join(root, 'annotations', 'instances_val.json')


@pytest.mark.parametrize('name', NAMES)
def test_config_trains_a_step_and_evaluates(tmp_path, name):
    task = name[-6:-3]
    cfg = Config.fromfile(osp.join(FOLDER, name))
    assert cfg.default_scope == SCOPES[task]
    assert 'mmext' in cfg.custom_imports['imports']
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_dataloader.dataset.type.startswith('mmext.Digits')
    assert cfg.train_dataloader.dataset.data_root == f'data/digits_{task}'
    assert cfg.val_dataloader.dataset.imbalance_ratio == 1.0
    _small(cfg, str(tmp_path), task)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:  # as Runner does (mmpretrain style)
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    train_loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    val_loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    losses = model.train_step(next(iter(train_loader)), optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = val_loader.dataset.metainfo
    for batch in val_loader:
        with torch.no_grad():
            evaluator.process(model.val_step(batch), batch)
    metrics = evaluator.evaluate(len(val_loader.dataset))
    key = {'seg': 'mIoU', 'det': 'coco/bbox_mAP', 'cls': 'accuracy/top1'}[task]
    assert key in metrics
