"""Tests of mmext.PackDetInputsWithWeights."""

import copy

import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import init_default_scope

from mmext.datasets.transforms.formatting import PackDetInputsWithWeights
from mmext.registry import TRANSFORMS


def _results(weights=None, ignore=(False, True, False, True)):
    res = dict(
        img=np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3),
        img_id=3,
        img_shape=(2, 3),
        ori_shape=(2, 3),
        mixup_ratio=0.3,
        gt_bboxes=HorizontalBoxes(np.arange(16, dtype=np.float32).reshape(4, 4)),
        gt_bboxes_labels=np.array([0, 1, 2, 3]),
        gt_ignore_flags=np.array(ignore),
    )
    if weights is not None:
        res['gt_weights'] = np.asarray(weights, np.float32)
    return res


def test_weights_split_like_the_boxes():
    res = _results([0.3, 0.3, 0.7, 0.9])
    ours = PackDetInputsWithWeights()(copy.deepcopy(res))
    ref = PackDetInputs()(copy.deepcopy(res))
    sample, ref_sample = ours['data_samples'], ref['data_samples']
    torch.testing.assert_close(ours['inputs'], ref['inputs'])
    # boxes and labels exactly as upstream; weights follow the ignore split
    torch.testing.assert_close(
        sample.gt_instances.bboxes.tensor, ref_sample.gt_instances.bboxes.tensor
    )
    torch.testing.assert_close(sample.gt_instances.labels, ref_sample.gt_instances.labels)
    torch.testing.assert_close(sample.gt_instances.weights, torch.tensor([0.3, 0.7]))
    torch.testing.assert_close(sample.ignored_instances.weights, torch.tensor([0.3, 0.9]))
    torch.testing.assert_close(sample.ignored_instances.labels, torch.tensor([1, 3]))
    assert sample.metainfo['mixup_ratio'] == 0.3
    assert 'weights' not in ref_sample.gt_instances  # upstream drops them


def test_missing_weights_are_ones_and_no_ignore_flags():
    sample = PackDetInputsWithWeights()(_results())['data_samples']
    torch.testing.assert_close(sample.gt_instances.weights, torch.ones(2))
    res = _results([0.1, 0.2, 0.3, 0.4])
    del res['gt_ignore_flags']
    sample = PackDetInputsWithWeights()(res)['data_samples']
    torch.testing.assert_close(sample.gt_instances.weights, torch.tensor([0.1, 0.2, 0.3, 0.4]))


def test_empty_and_boxless_samples():
    res = _results(np.zeros(0), ignore=np.zeros(0, bool))
    res['gt_bboxes'] = HorizontalBoxes(np.zeros((0, 4), np.float32))
    res['gt_bboxes_labels'] = np.zeros(0, np.int64)
    sample = PackDetInputsWithWeights()(res)['data_samples']
    assert sample.gt_instances.weights.shape == (0,)
    res = dict(img=np.zeros((2, 2, 3), np.uint8), img_shape=(2, 2))
    packed = PackDetInputsWithWeights()(res)  # test-time sample without annotations
    assert 'weights' not in packed['data_samples'].gt_instances


def test_inconsistent_weights_raise():
    with pytest.raises(ValueError, match='4 boxes'):
        PackDetInputsWithWeights()(_results([1.0, 1.0]))
    with pytest.raises(ValueError, match='>= 0'):
        PackDetInputsWithWeights()(_results([1.0, -1.0, 1.0, 1.0]))


def test_registry_and_repr():
    init_default_scope('mmdet')
    pack = TRANSFORMS.build(dict(type='mmext.PackDetInputsWithWeights'))
    assert isinstance(pack, PackDetInputsWithWeights)
    assert 'mixup_ratio' in repr(pack)
