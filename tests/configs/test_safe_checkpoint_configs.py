"""Every training config of configs/ saves checkpoints with mmext.SafeCheckpointHook (crash-safe
saves; issue: a kill during mmengine's CheckpointHook save lost every checkpoint), with its
non-finite loss check on (issue 26: a diverging run overwrote the last good checkpoint)."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

import mmext  # noqa: F401
from mmext.engine.hooks import SafeCheckpointHook
from mmext.registry import HOOKS
from tests.configs.test_tilted_ce_configs import configs_with_alpha_bases

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    # configs/_base_/ holds fragments (model, dataset, schedule), not runnable configs; so
    # do the generated focal_alpha bases of configs/tilted_ce/_base_/
    if not osp.relpath(p, REPO).startswith(osp.join('configs', '_base_'))
    and not osp.basename(p).startswith('focal_alpha_')
)


@pytest.fixture(scope='module')
def config_root(tmp_path_factory):
    """A copy of configs/ with the full-scale Focal configs' alpha bases written."""
    root = tmp_path_factory.mktemp('configs_copy')
    configs_with_alpha_bases(str(root))
    return str(root)


def test_configs_found():
    assert len(CONFIGS) > 150


@pytest.mark.parametrize('name', CONFIGS)
def test_checkpoint_hook_is_the_safe_one(name, config_root):
    cfg = Config.fromfile(osp.join(config_root, name))
    assert 'train_cfg' in cfg, name
    hook = cfg.default_hooks.checkpoint
    assert hook.type == 'mmext.SafeCheckpointHook', (name, hook)
    built = HOOKS.build(hook.to_dict())
    assert isinstance(built, SafeCheckpointHook)
    assert built.check_finite_loss == 1  # stops at the first non-finite loss
