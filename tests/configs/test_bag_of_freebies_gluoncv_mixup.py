"""The digits Faster R-CNN 'GluonCV code' mixup config trains as GluonCV's script does."""

import copy

import torch
from mmengine.config import Config

from mmext.models.heads import weighted_rpn_head
from mmext.models.heads.weighted_roi_head import WeightedStandardRoIHead
from mmext.models.heads.weighted_rpn_head import ImageWeightedRPNHead

CFG = (
    'configs/bag_of_freebies/digits/'
    'faster-rcnn_r18-tiny-fpn_bof-all-gluoncv-mixup_1xb8-1k_digits-det.py'
)


def test_even_mix_whole_loss_weights_then_switch_off(tmp_path, monkeypatch):
    """Four real iterations: 0-1 mixed at 0.5 with every image's RPN and RoI losses weighted
    0.5, 2-3 unmixed with weight 1 (mixup off for the last 2 iterations)."""
    from mmengine.runner import Runner

    cfg = copy.deepcopy(Config.fromfile(CFG))
    inner = cfg.train_dataloader.dataset.dataset
    inner.update(data_root=str(tmp_path / 'data'), num_images=16)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100000)
    cfg.custom_hooks = [dict(type='mmext.MixupSwitchOffHook', last_iters=2)]
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[key] = None
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.update(
        checkpoint=dict(type='CheckpointHook', interval=100000),
        logger=dict(type='LoggerHook', interval=1),
    )
    cfg.work_dir = str(tmp_path / 'work')
    seen = []
    original = weighted_rpn_head.image_mix_weights

    def spy(metas):
        out = original(metas)
        seen.append(out)
        return out

    monkeypatch.setattr(weighted_rpn_head, 'image_mix_weights', spy)
    from mmext.models.heads import weighted_roi_head

    monkeypatch.setattr(weighted_roi_head, 'image_mix_weights', spy)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.rpn_head, ImageWeightedRPNHead)
    assert isinstance(runner.model.roi_head, WeightedStandardRoIHead)
    assert runner.model.roi_head.weighting == 'image'
    runner.train()
    # per iteration: one call from the RPN head, one from the RoI head
    assert seen == [[0.5, 0.5]] * 4 + [[1.0, 1.0]] * 4
    assert torch.isfinite(torch.tensor(runner.message_hub.get_scalar('train/loss').current()))
