"""Tests of FairIoUMetric: mmseg parity, keys, reference and dumps, ground-truth checks.

The fairness statistics themselves (hand-computed numbers, the paper's Table 3) are tested in
``tests/evaluation/functional/test_fairness.py``.
"""

import json
import math

import numpy as np
import pytest
import torch

from mmext.evaluation.metrics.fair_iou_metric import FairIoUMetric


def _samples(rng, n, k, shape=(12, 10), ignore=255):
    out = []
    for _ in range(n):
        gt = rng.integers(0, k, shape)
        gt[rng.random(shape) < 0.1] = ignore
        pred = np.where(rng.random(shape) < 0.6, gt, rng.integers(0, k, shape))
        pred[pred == ignore] = 0
        out.append(
            dict(
                pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                gt_sem_seg=dict(data=torch.from_numpy(gt)[None]),
            )
        )
    return out


def _evaluate(metric, samples, classes):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_parity_with_mmseg_iou_metric(seed):
    from mmseg.evaluation.metrics import IoUMetric

    rng = np.random.default_rng(seed)
    k = 7
    classes = tuple(f'c{i}' for i in range(k))
    samples = _samples(rng, 5, k - 1)  # class 6 absent from GT and prediction: NaN
    ours = _evaluate(FairIoUMetric(iou_metrics=['mIoU', 'mDice']), samples, classes)
    theirs = _evaluate(IoUMetric(iou_metrics=['mIoU', 'mDice']), samples, classes)
    for key, val in theirs.items():
        assert ours[key] == val, key
    # independent per-class IoU from a numpy confusion matrix
    gt = np.concatenate([s['gt_sem_seg']['data'].numpy().ravel() for s in samples])
    pr = np.concatenate([s['pred_sem_seg']['data'].numpy().ravel() for s in samples])
    keep = gt != 255
    conf = np.zeros((k, k))
    np.add.at(conf, (gt[keep], pr[keep]), 1)
    inter = np.diag(conf)
    with np.errstate(invalid='ignore'):
        iou = inter / (conf.sum(0) + conf.sum(1) - inter)
    for i, name in enumerate(classes):
        if np.isnan(iou[i]):
            assert math.isnan(ours[f'IoU.{name}'])
        else:
            assert ours[f'IoU.{name}'] == pytest.approx(np.round(iou[i] * 100, 2), abs=0.006)
    valid = iou[~np.isnan(iou)]
    assert ours['worstIoU'] == pytest.approx(valid.min() * 100, abs=0.006)
    assert ours['stdIoU'] == pytest.approx(valid.std() * 100, abs=0.006)
    fw = (conf.sum(1) / conf.sum() * np.nan_to_num(iou)).sum()
    assert ours['fwIoU'] == pytest.approx(fw * 100, abs=0.006)
    kk = math.ceil(len(valid) / 4)
    assert ours['bottom25_mIoU'] == pytest.approx(np.sort(valid)[:kk].mean() * 100, abs=0.006)


def test_keys_unprefixed_by_default_and_namespaced_on_request():
    # same keys as mmseg's IoUMetric (save_best='mIoU' keeps working); prefix= namespaces all
    rng = np.random.default_rng(3)
    classes = ('a', 'b', 'c')
    samples = _samples(rng, 2, 3)
    plain = _evaluate(FairIoUMetric(), samples, classes)
    named = _evaluate(FairIoUMetric(prefix='fair'), samples, classes)
    assert 'mIoU' in plain and not any('/' in k for k in plain)
    assert set(named) == {f'fair/{k}' for k in plain}
    assert named['fair/mIoU'] == plain['mIoU']


def test_reference_file_and_json_dump(tmp_path):
    rng = np.random.default_rng(3)
    classes = ('a', 'b', 'c', 'd', 'e')
    samples = _samples(rng, 4, 4)  # 'e' never occurs: NaN -> null
    out = tmp_path / 'ref.json'
    ref_metrics = _evaluate(FairIoUMetric(dump_json=str(out)), samples, classes)
    dumped = json.loads(out.read_text())
    assert dumped['classes'] == list(classes)
    assert dumped['IoU'][4] is None
    assert dumped['metrics']['mIoU'] == ref_metrics['mIoU']
    assert sum(dumped['area_label']) == sum(
        int((s['gt_sem_seg']['data'] != 255).sum()) for s in samples
    )
    # the dump as a reference: the reference order is this model's order -> same groups
    other = _evaluate(FairIoUMetric(reference=str(out)), samples, classes)
    assert other['bottom25_mIoU'] == ref_metrics['bottom25_mIoU']
    # an inverted {class: IoU} reference swaps bottom and top groups
    inv = {c: (None if v is None else -v) for c, v in zip(classes, dumped['IoU'])}
    swapped = _evaluate(FairIoUMetric(reference=inv), samples, classes)
    assert swapped['bottom25_mIoU'] == ref_metrics['top25_mIoU']
    assert swapped['top25_mIoU'] == ref_metrics['bottom25_mIoU']


def test_reference_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        FairIoUMetric(reference=str(tmp_path / 'missing.json'))


def test_fairness_helpers_stay_importable_from_the_metric_module():
    """The helpers moved to mmext.evaluation.functional; the old import path still works."""
    from mmext.evaluation import functional
    from mmext.evaluation.metrics import fair_iou_metric

    for name in ('fairness_summary', 'frequency_weighted_iou', 'load_reference_iou'):
        assert getattr(fair_iou_metric, name) is getattr(functional, name)


def test_registry_build():
    from mmengine.registry import METRICS, init_default_scope

    init_default_scope('mmseg')
    metric = METRICS.build(dict(type='mmext.FairIoUMetric', per_class=False))
    assert isinstance(metric, FairIoUMetric)


def _sample(gt, pred, name):
    return dict(
        gt_sem_seg=dict(data=torch.tensor([gt])),
        pred_sem_seg=dict(data=torch.tensor([pred])),
        img_path=f'/data/{name}.png',
    )


def test_per_image_csv_by_hand(tmp_path):
    import csv

    samples = [
        # image a (the 255 pixel is ignored, with the 2 predicted there): class 0 inter 1,
        # union 3 (gt 0 at 2 px, pred 0 at 2 px, 1 shared); class 1: inter 0, union 2;
        # class 2 in neither -> empty cell
        _sample([[0, 0], [1, 255]], [[0, 1], [0, 2]], 'a'),
        # image b: everything right (the 255 pixel is ignored) -> 100 / 100 / 100
        _sample([[2, 2], [1, 0]], [[2, 2], [1, 0]], 'b'),
    ]
    out = tmp_path / 'per_image.csv'
    metrics = _evaluate(FairIoUMetric(per_image_csv=str(out)), samples, ('x', 'y', 'z'))
    rows = list(csv.reader(out.open()))
    assert rows[0] == ['image', 'x', 'y', 'z']
    assert rows[1] == ['a.png', f'{100 / 3:.4f}', '0.0000', '']
    assert rows[2] == ['b.png', '100.0000', '100.0000', '100.0000']
    # the dataset-level numbers are unchanged by the option
    plain = _evaluate(FairIoUMetric(), samples, ('x', 'y', 'z'))
    assert metrics == plain


def test_out_of_range_ground_truth_raises_naming_image_and_values():
    """mmseg's IoUMetric drops GT values outside [0, K) and reports aAcc 100 (issue 26)."""
    gt = [[0, 1, 50, 50], [2, 255, 50, 50]]  # 50 on half the pixels, 3 classes
    sample = _sample(gt, [[0, 1, 2, 2], [2, 0, 0, 0]], 'bad')
    sample['seg_map_path'] = '/ann/bad.png'
    metric = FairIoUMetric()
    metric.dataset_meta = dict(classes=('x', 'y', 'z'))
    with pytest.raises(ValueError) as info:
        metric.process({}, [_sample([[0, 1]], [[0, 1]], 'good'), sample])
    message = str(info.value)
    for part in ('/data/bad.png', '/ann/bad.png', '[50]', '[0, 3)', 'ignore_index=255'):
        assert part in message, (part, message)
    assert 'good' not in message
    # negative values too, and only the sample's seg_map_path when it has no img_path
    neg = dict(
        gt_sem_seg=dict(data=torch.tensor([[[-1, 0], [7, 1]]])),
        pred_sem_seg=dict(data=torch.tensor([[[0, 0], [1, 1]]])),
        seg_map_path='/ann/neg.png',
    )
    with pytest.raises(ValueError, match=r'/ann/neg\.png holds ground-truth values \[-1, 7\]'):
        metric.process({}, [neg])
    # ignore_index is the one value allowed outside the classes: no error, mmseg's numbers
    ok = _sample([[0, 1], [2, 255]], [[0, 1], [2, 2]], 'ok')
    assert _evaluate(FairIoUMetric(), [ok], ('x', 'y', 'z'))['aAcc'] == 100.0
    custom = _sample([[0, 1], [2, 9]], [[0, 1], [2, 2]], 'ok')
    assert _evaluate(FairIoUMetric(ignore_index=9), [custom], ('x', 'y', 'z'))['aAcc'] == 100.0
    with pytest.raises(ValueError, match=r'\[255\]'):  # 255 is a bad value when 9 is ignored
        _evaluate(FairIoUMetric(ignore_index=9), [ok], ('x', 'y', 'z'))


def _by_hand_iou(samples, k, ignore=255):
    """Per-class IoU from a numpy confusion count (independent of mmseg and mmext)."""
    gt = np.concatenate([s['gt_sem_seg']['data'].numpy().ravel() for s in samples])
    pred = np.concatenate([s['pred_sem_seg']['data'].numpy().ravel() for s in samples])
    valid = gt != ignore
    gt, pred = gt[valid], pred[valid]
    inter = np.array([np.sum((gt == c) & (pred == c)) for c in range(k)], float)
    union = np.array([np.sum((gt == c) | (pred == c)) for c in range(k)], float)
    return inter / union


@pytest.mark.parametrize('exclude', [['c0'], [0], ['c0', 3]])
def test_exclude_classes_leaves_them_out_of_the_fairness_keys_only(exclude):
    rng = np.random.default_rng(7)
    k = 5
    classes = tuple(f'c{i}' for i in range(k))
    samples = _samples(rng, 4, k)
    iou = _by_hand_iou(samples, k) * 100
    gone = {0, 3} if 3 in exclude else {0}
    kept = np.array([iou[c] for c in range(k) if c not in gone])
    metric = FairIoUMetric(exclude_classes=exclude, all_classes_prefix='all_')
    out = _evaluate(metric, samples, classes)
    assert out['worstIoU'] == pytest.approx(kept.min(), abs=0.006)
    assert out['stdIoU'] == pytest.approx(kept.std(), abs=0.006)
    # the every-class reading is kept under the prefix; mIoU and IoU.<c> are unchanged
    assert out['all_worstIoU'] == pytest.approx(iou.min(), abs=0.006)
    assert out['all_stdIoU'] == pytest.approx(iou.std(), abs=0.006)
    assert out['mIoU'] == pytest.approx(iou.mean(), abs=0.006)
    assert out['IoU.c0'] == pytest.approx(iou[0], abs=0.006)
    plain = _evaluate(FairIoUMetric(), samples, classes)
    assert plain['worstIoU'] == out['all_worstIoU'] and 'all_worstIoU' not in plain


def test_exclude_classes_errors():
    with pytest.raises(ValueError, match='needs exclude_classes'):
        FairIoUMetric(all_classes_prefix='all_')
    metric = FairIoUMetric(exclude_classes=['sky'])
    with pytest.raises(ValueError, match="'sky' is neither a class name"):
        _evaluate(metric, _samples(np.random.default_rng(0), 1, 3), ('a', 'b', 'c'))
