"""Tests of the fairness statistics: hand-computed numbers and the TCE paper's Table 3."""

import math

import numpy as np
import pytest

from mmext.evaluation.functional import (
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


def test_load_reference_iou_aligns_and_checks(tmp_path):
    path = tmp_path / 'ref.json'
    path.write_text('{"classes": ["b", "a"], "IoU": [20.0, null]}')  # a FairIoUMetric dump
    ref = load_reference_iou(str(path), ['a', 'b'])
    assert math.isnan(ref[0]) and ref[1] == 20.0
    assert load_reference_iou(None, ['a']) is None
    np.testing.assert_array_equal(load_reference_iou([1, 2], ['a', 'b']), [1.0, 2.0])
    with pytest.raises(FileNotFoundError):
        load_reference_iou(str(tmp_path / 'missing.json'), ['a'])
    with pytest.raises(ValueError, match="lacks classes \\['b'\\]"):
        load_reference_iou({'a': 1.0}, ['a', 'b'])
    with pytest.raises(ValueError, match='3 values for 2 classes'):
        load_reference_iou([1.0, 2.0, 3.0], ['a', 'b'])
