"""Upstream clients: mmseg's and mmdet's own ``tools/train.py`` run mmext configs unchanged,
and checkpoints written by upstream models (built from upstream configs) load through
``load_from``."""

import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from .conftest import DET_CFG, REPO, SEG_CFG, SHORT, run

DIGITS_BASE = osp.join(REPO, 'configs/_base_/datasets')
DATA_KEYS = ('train_dataloader', 'test_dataloader', 'test_evaluator')


def upstream_train_py(pkg: str) -> str:
    spec = importlib.util.find_spec(pkg)
    path = osp.join(spec.submodule_search_locations[0], '.mim', 'tools', 'train.py')
    assert osp.isfile(path), f'{pkg} wheel ships no tools/train.py at {path}'
    return path


@pytest.mark.parametrize('pkg,config', [('mmseg', SEG_CFG), ('mmdet', DET_CFG)])
def test_upstream_train_tool_runs_mmext_config(pkg, config, workspace):
    work_dir = osp.join(workspace, f'upstream_{pkg}')
    out = run(
        [
            sys.executable,
            upstream_train_py(pkg),
            config,
            '--work-dir',
            work_dir,
            '--cfg-options',
            'train_cfg.max_iters=2',
            *SHORT,
        ],
        cwd=workspace,
    )
    assert 'Iter(train) [2/2]' in out.stdout + out.stderr
    assert osp.exists(osp.join(work_dir, 'iter_2.pth'))


def _upstream_on_digits(upstream: str, dataset_base: str, model_overrides: dict, path: str) -> str:
    """The upstream config with its data swapped for the offline digits data."""
    from mmengine.hub import get_config

    cfg = get_config(upstream)  # resolves the package's `pkg::` config path
    data = Config.fromfile(osp.join(DIGITS_BASE, dataset_base))
    for key in DATA_KEYS:
        cfg[key] = data[key]
    cfg.merge_from_dict(model_overrides)
    cfg.train_dataloader.batch_size = 2
    cfg.custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100000)
    # no validation: the loop would validate after its last iteration (100 s for the R-50
    # Faster R-CNN), and these tests are about the checkpoint
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1)
    cfg.dump(path)
    return path


CASES = {
    'mmseg': (
        'mmseg::deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py',
        'digits_seg.py',
        {
            'model.pretrained': None,
            'model.data_preprocessor.size': (64, 64),
            'model.decode_head.num_classes': 11,
            'model.auxiliary_head.num_classes': 11,
        },
    ),
    'mmdet': (
        'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        'digits_det.py',
        {'model.backbone.init_cfg': None, 'model.roi_head.bbox_head.num_classes': 10},
    ),
}


@pytest.mark.parametrize('pkg', ['mmseg', 'mmdet'])
def test_load_from_checkpoint_of_upstream_model(pkg, workspace):
    upstream, dataset_base, overrides = CASES[pkg]
    work_dir = osp.join(workspace, f'load_from_{pkg}')
    cfg_path = _upstream_on_digits(
        upstream, dataset_base, overrides, osp.join(workspace, f'upstream_{pkg}_digits.py')
    )
    # the upstream model, trained one iteration by the upstream tool, writes the checkpoint
    run([sys.executable, upstream_train_py(pkg), cfg_path, '--work-dir', work_dir], cwd=workspace)
    ckpt_path = osp.join(work_dir, 'iter_1.pth')

    from mmengine.runner import Runner

    import mmext  # noqa: F401

    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = osp.join(work_dir, 'reload')
    cfg.load_from = ckpt_path
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = torch.load(ckpt_path, map_location='cpu')  # weights-only, via mmext's allow-list
    loaded = runner.model.state_dict()
    assert set(saved['state_dict']) == set(loaded)
    for key, value in saved['state_dict'].items():
        assert torch.equal(value, loaded[key]), key
    assert saved['meta']['iter'] == 1
