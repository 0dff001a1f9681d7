"""Tests of the tiny YOLOv3 configs of configs/bag_of_freebies/digits and tools/experiments/freebies_digits.py.

The configs parse and build; the mixup configs wire CoherentMixUp, the weighted head and the
PipelineSwitchHook; one short end-to-end run trains the mixup variant for two tiny epochs
(mixup switched off for the second) and evaluates it with pycocotools; the report is
assembled from per-run results.
"""
import argparse
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmext.registry import MODELS
from tests.scripts import load_script



script = load_script('tools/experiments/freebies_digits.py')


@pytest.mark.parametrize('variant', list(script.VARIANTS))
def test_configs_parse_and_build(variant):
    cfg = Config.fromfile(osp.join(script.CONFIG_DIR, script.VARIANTS[variant][0]))
    init_default_scope('mmdet')
    head = MODELS.build(cfg.model).bbox_head
    mixup = variant in ('mixup', 'all')
    assert type(head).__name__ == ('WeightedYOLOV3Head' if mixup else 'YOLOV3Head')
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 8
    if mixup:
        dataset = cfg.train_dataloader.dataset
        assert dataset.type == 'MultiImageMixDataset'
        assert [t['type'] for t in dataset.pipeline] == [
            'mmext.CoherentMixUp', 'mmext.PackDetInputsWithWeights']
        assert (dataset.pipeline[0]['alpha'], dataset.pipeline[0]['beta']) == (1.5, 1.5)
        hook, = cfg.custom_hooks
        assert hook.type == 'PipelineSwitchHook' and hook.switch_epoch == 7
        assert hook.switch_pipeline == [dict(type='mmext.PackDetInputsWithWeights')]
    smooth = variant in ('label_smooth', 'all')
    assert (head.loss_cls.__class__.__name__ == 'LabelSmoothCrossEntropyLoss') == smooth
    cosine = variant in ('cosine', 'all')
    assert (cfg.param_scheduler[0].type == 'mmext.WarmupCosineLR') == cosine


def test_adapt_config_scales_schedule_and_data():
    cfg = Config.fromfile(osp.join(script.CONFIG_DIR, script.VARIANTS['all'][0]))
    script.adapt_config(cfg, epochs=4, num_train=40, num_val=10, data_root='/tmp/x')
    assert cfg.train_cfg.max_epochs == 4 and cfg.train_cfg.val_interval == 5
    assert cfg.custom_hooks[0].switch_epoch == 3
    assert cfg.param_scheduler[0].end == 4 and cfg.param_scheduler[0].warmup == 1
    inner = cfg.train_dataloader.dataset.dataset
    assert (inner.num_images, inner.data_root) == (40, '/tmp/x')
    assert cfg.val_evaluator.ann_file == '/tmp/x/annotations/instances_val.json'
    base = Config.fromfile(osp.join(script.CONFIG_DIR, script.VARIANTS['baseline'][0]))
    script.adapt_config(base, epochs=4, num_train=40, num_val=10, data_root='/tmp/x')
    assert base.param_scheduler[1].milestones == [3, 4]


def test_end_to_end_mixup_run_and_report(tmp_path):
    args = script.parse_args(['--quick', '--work-dir', str(tmp_path / 'work')])
    args.num_train, args.num_val, args.data_root = 16, 8, str(tmp_path / 'data')
    script.build_data(args)
    result = script.run_single('mixup', 0, args)
    assert result['mixup_switched_off'] and result['epochs'] == 2
    assert 0.0 <= result['metrics']['coco/bbox_mAP'] <= 1.0
    assert osp.isfile(tmp_path / 'work' / 'mixup_s0' / 'result.json')
    # the report: mean over seeds, delta to the baseline, head/tail class AP
    def fake(variant, seed, value):
        metrics = {'coco/bbox_mAP': value, 'coco/bbox_mAP_50': 2 * value}
        metrics.update({f'coco/{c}_precision': value * (c < 5) for c in range(10)})
        return dict(variant=variant, seed=seed, train_s=1.0, metrics=metrics)
    table = script.summarize(
        [fake('baseline', 0, 0.10), fake('baseline', 1, 0.20), fake('mixup', 0, 0.30),
         fake('mixup', 1, 0.30)], args, 60.0)
    assert '| baseline | baseline | 15.00 ± 7.07 |  | 30.00 ± 14.14 | 15.00 | 0.00 |' in table
    assert '| mixup | + mixup | 30.00 ± 0.00 | +15.00 |' in table
    assert 'Quick mode' in table


def test_parse_args_quick_and_default_paths():
    args = script.parse_args([])
    assert args.seeds == [0, 1, 2] and args.data_root == 'data/digits_det'
    quick = script.parse_args(['--quick'])
    assert (quick.seeds, quick.epochs, quick.num_train) == ([0], 2, 48)
    assert quick.data_root == 'data/digits_det_48_24'
    assert isinstance(quick, argparse.Namespace)
