"""Every training config of configs/ saves checkpoints with mmext.SafeCheckpointHook (crash-safe
saves; issue: a kill during mmengine's CheckpointHook save lost every checkpoint)."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

import mmext  # noqa: F401
from mmext.engine.hooks import SafeCheckpointHook
from mmext.registry import HOOKS
from tests.configs.test_tilted_ce_configs import write_alpha_files

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    # configs/_base_/ holds fragments (model, dataset, schedule), not runnable configs
    if not osp.relpath(p, REPO).startswith(osp.join('configs', '_base_'))
)


def test_configs_found():
    assert len(CONFIGS) > 150


@pytest.mark.parametrize('name', CONFIGS)
def test_checkpoint_hook_is_the_safe_one(name, tmp_path, monkeypatch):
    write_alpha_files(str(tmp_path))  # the Focal configs read alpha relative to the cwd
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(REPO, name))
    assert 'train_cfg' in cfg, name
    hook = cfg.default_hooks.checkpoint
    assert hook.type == 'mmext.SafeCheckpointHook', (name, hook)
    built = HOOKS.build(hook.to_dict())
    assert isinstance(built, SafeCheckpointHook)
