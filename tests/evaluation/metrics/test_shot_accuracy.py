"""mmext.ShotAccuracy: many / medium / few-shot top-1 accuracy against hand-computed values."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope

from mmext.evaluation.metrics import ShotAccuracy
from mmext.registry import METRICS


def _samples(pairs):
    return [dict(gt_label=torch.tensor([g]), pred_label=torch.tensor([p])) for g, p in pairs]


def test_groups_and_accuracies_by_hand():
    # train counts: class 0 many (150), 1 medium (100: not > 100), 2 medium (20), 3 few (19)
    metric = ShotAccuracy(train_class_counts=[150, 100, 20, 19])
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    # many: 2/3 correct; medium: classes 1, 2 -> 1 + 1 of 4; few: 0/1
    pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (1, 0), (2, 2), (2, 3), (3, 0)]
    metric.process(None, _samples(pairs[:5]))
    metric.process(None, _samples(pairs[5:]))
    out = metric.evaluate(len(pairs))
    assert out['shot/top1'] == pytest.approx(100 * 4 / 8)
    assert out['shot/many_top1'] == pytest.approx(100 * 2 / 3)
    assert out['shot/medium_top1'] == pytest.approx(100 * 2 / 4)
    assert out['shot/few_top1'] == 0.0


def test_thresholds_are_options_and_empty_group_is_nan():
    metric = ShotAccuracy([50, 5], many_thr=40, few_thr=10)
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process(None, _samples([(0, 0), (1, 1)]))
    out = metric.evaluate(2)
    assert out['shot/many_top1'] == 100.0 and out['shot/few_top1'] == 100.0
    assert math.isnan(out['shot/medium_top1'])


def test_bad_arguments_and_registry():
    with pytest.raises(ValueError, match='few_thr'):
        ShotAccuracy([1, 2], many_thr=10, few_thr=20)
    with pytest.raises(ValueError, match='non-negative'):
        ShotAccuracy([-1])
    metric = ShotAccuracy([3])
    metric.dataset_meta = dict(classes=('a',))
    metric.process(None, _samples([(2, 2)]))
    with pytest.raises(ValueError, match='label 2'):
        metric.evaluate(1)
    init_default_scope('mmpretrain')
    assert isinstance(METRICS.build(dict(type='mmext.ShotAccuracy', train_class_counts=[1])),
                      ShotAccuracy)
