"""ClassAccuracyMetric: per-class and many/medium/few-shot accuracy against hand counts."""

import pytest
import torch

from mmext.evaluation.metrics.class_accuracy_metric import ClassAccuracyMetric, shot_groups
from mmext.registry import METRICS


def _samples(pairs):
    return [dict(pred_label=torch.tensor([p]), gt_label=torch.tensor([g])) for p, g in pairs]


def test_shot_groups_thresholds():
    # > 100 many, < 20 few, 20..100 medium (both ends inclusive)
    assert shot_groups([400, 101, 100, 20, 19, 4]) == dict(many=[0, 1], medium=[2, 3], few=[4, 5])


def test_hand_counted_accuracies():
    metric = METRICS.build(dict(type='mmext.ClassAccuracyMetric', class_counts=[400, 50, 10, 5]))
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    # class a: 2/2 right; b: 1/4; c: 0/1; d: 1/2
    pairs = [(0, 0), (0, 0), (1, 1), (0, 1), (2, 1), (3, 1), (1, 2), (3, 3), (0, 3)]
    metric.process(None, _samples(pairs))
    got = metric.evaluate(len(pairs))
    want = {
        'a': 100.0,
        'b': 25.0,
        'c': 0.0,
        'd': 50.0,
        'mean': 43.75,
        'many': 100.0,
        'medium': 25.0,
        'few': 25.0,
    }
    assert got == pytest.approx({f'class_acc/{k}': v for k, v in want.items()})


def test_empty_group_and_missing_class_are_left_out():
    metric = ClassAccuracyMetric(class_counts=[400, 300, 200])
    metric.dataset_meta = dict(classes=('0', '1', '2'))
    metric.process(None, _samples([(0, 0), (0, 1)]))  # no sample of class 2
    got = metric.evaluate(2)
    assert got == {
        'class_acc/0': 100.0,
        'class_acc/1': 0.0,
        'class_acc/mean': 50.0,
        'class_acc/many': 50.0,
    }


def test_errors():
    with pytest.raises(ValueError, match='few_shot'):
        ClassAccuracyMetric(many_shot=10, few_shot=20)
    metric = ClassAccuracyMetric(class_counts=[1, 2])
    metric.dataset_meta = dict(classes=('0', '1', '2'))
    metric.process(None, _samples([(0, 0)]))
    with pytest.raises(ValueError, match='class_counts'):
        metric.evaluate(1)


def test_one_host_transfer_per_batch(monkeypatch):
    """The labels of a batch reach the host in one copy (not two ``.cpu()`` per sample)."""
    metric = ClassAccuracyMetric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    cpu = torch.Tensor.cpu
    calls = []

    def counting_cpu(self, *args, **kwargs):
        calls.append(tuple(self.shape))
        return cpu(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, 'cpu', counting_cpu)
    pairs = [(0, 0), (2, 1), (1, 1), (2, 2), (0, 2)]
    metric.process(None, _samples(pairs))
    assert calls == [(10,)]
    assert metric.results == pairs
    monkeypatch.undo()
    assert metric.evaluate(5)['class_acc/mean'] == pytest.approx((100 + 50 + 50) / 3)
