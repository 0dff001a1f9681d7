"""Tests of FairIoUMetric: mmseg parity, hand-computed fairness numbers, the paper's Table 3."""

import json
import math

import numpy as np
import pytest
import torch

from mmext.evaluation.metrics.fair_iou_metric import (
    FairIoUMetric,
    fairness_summary,
    frequency_weighted_iou,
    load_reference_iou,
)

# Table 1 of the TCE paper (Cityscapes val IoU, classes sorted by the MCCE model)
CLASSES_T1 = [
    'wall',
    'train',
    'rider',
    'fence',
    'terrain',
    'truck',
    'm.cycle',
    'pole',
    'bus',
    't. light',
    'bicycle',
    't. sign',
    'person',
    'sidewalk',
    'vegetation',
    'building',
    'sky',
    'car',
    'road',
]
MCCE_T1 = [
    48.46,
    53.66,
    61.12,
    62.23,
    62.98,
    66.21,
    67.72,
    69.19,
    71.53,
    74.33,
    79.23,
    81.22,
    83.19,
    84.95,
    92.52,
    93.04,
    95.00,
    95.45,
    98.06,
]
TCE1_FIRST10 = [53.47, 79.32, 65.67, 59.25, 63.74, 64.32, 69.45, 69.54, 66.05, 74.51]


def test_paper_table3_percentiles_of_mcce():
    # Table 3, MCCE: "(25th percentile) bottom" = (64.60, 57.69)
    s = fairness_summary(np.array(MCCE_T1))
    # (48.46 ... 62.98, 66.21 ...): the threshold is 64.595, which the paper prints as 64.60
    assert s['p25_IoU'] == pytest.approx(64.595)
    assert round(s['p25_mIoU'], 2) == 57.69
    # sorted by its own IoU, the bottom ceil(19/4)=5 classes are the same 5
    assert round(s['bottom25_mIoU'], 2) == 57.69
    assert s['worstIoU'] == 48.46


def test_paper_table3_sorted_bottom_of_tce_t1_by_mcce_reference():
    # Table 3, TCE t=1: sorted bottom 25% = 64.29 (classes ordered by the MCCE model).
    # Table 1 gives TCE t=1 only for its first 10 classes; the 9 others are the best ones
    # of MCCE and cannot enter the bottom group, any values above them do.
    tce = np.array(TCE1_FIRST10 + [90.0] * 9)
    s = fairness_summary(tce, reference=np.array(MCCE_T1))
    assert round(s['bottom25_mIoU'], 2) == 64.29
    assert s['worstIoU'] == 53.47


def test_fairness_summary_by_hand():
    iou = np.array([0.1, np.nan, 0.5, 0.3, 0.9, 0.7])
    s = fairness_summary(iou)
    vals = np.array([0.1, 0.5, 0.3, 0.9, 0.7])  # NaN left out: K = 5, ceil(5/4) = 2
    assert s['worstIoU'] == pytest.approx(0.1)
    assert s['stdIoU'] == pytest.approx(math.sqrt(((vals - vals.mean()) ** 2).mean()))
    assert s['bottom25_mIoU'] == pytest.approx((0.1 + 0.3) / 2)
    assert s['top25_mIoU'] == pytest.approx((0.9 + 0.7) / 2)
    # sorted values 0.1 .3 .5 .7 .9; 25th percentile at position 1 -> 0.3; 75th -> 0.7
    assert s['p25_IoU'] == pytest.approx(0.3)
    assert s['p25_mIoU'] == pytest.approx(0.2)
    assert s['p75_IoU'] == pytest.approx(0.7)
    assert s['p75_mIoU'] == pytest.approx(0.8)
    # a reference order: bottom = classes with the lowest reference
    ref = np.array([0.9, 0.0, 0.8, 0.1, 0.2, 0.7])
    s = fairness_summary(iou, reference=ref)
    assert s['bottom25_mIoU'] == pytest.approx((0.3 + 0.9) / 2)
    assert s['top25_mIoU'] == pytest.approx((0.1 + 0.5) / 2)
    assert all(math.isnan(v) for v in fairness_summary(np.array([np.nan, np.nan])).values())
    with pytest.raises(ValueError, match='fraction'):
        fairness_summary(iou, fraction=0.7)


def test_group_size_is_exact_ceil():
    # ceil(K * fraction) without float noise: 25 classes x 0.28 = 7.000000000000001 -> 7
    assert 0.28 * 25 > 7
    s = fairness_summary(np.arange(25, dtype=np.float64), fraction=0.28)
    assert s['bottom28_mIoU'] == pytest.approx(3.0)  # mean of 0..6
    assert s['top28_mIoU'] == pytest.approx(21.0)  # mean of 18..24
    s = fairness_summary(np.arange(19, dtype=np.float64))  # Cityscapes: ceil(19 / 4) = 5
    assert s['bottom25_mIoU'] == pytest.approx(2.0) and s['top25_mIoU'] == pytest.approx(16.0)
    s = fairness_summary(np.arange(150, dtype=np.float64))  # ADE20k: ceil(150 / 4) = 38
    assert s['bottom25_mIoU'] == pytest.approx(18.5)


def test_frequency_weighted_iou_by_hand():
    iou = np.array([0.5, np.nan, 1.0, 0.0])
    area = np.array([10, 0, 30, 0])
    assert frequency_weighted_iou(iou, area) == pytest.approx(0.25 * 0.5 + 0.75 * 1.0)


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
    with pytest.raises(ValueError, match="lacks classes \\['b'\\]"):
        load_reference_iou({'a': 1.0}, ['a', 'b'])
    with pytest.raises(ValueError, match='3 values for 2 classes'):
        load_reference_iou([1.0, 2.0, 3.0], ['a', 'b'])


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
