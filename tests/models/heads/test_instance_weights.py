"""Tests of mmext.models.heads.instance_weights.get_gt_weights."""

import pytest
import torch
from mmengine.structures import InstanceData

from mmext.models.heads.instance_weights import get_gt_weights


def _gt(**fields):
    return InstanceData(bboxes=torch.zeros(3, 4), labels=torch.zeros(3, dtype=torch.long), **fields)


def test_absent_and_present():
    assert get_gt_weights(_gt()) is None
    weights = torch.tensor([0.2, 1.0, 0.0])
    assert torch.equal(get_gt_weights(_gt(weights=weights)), weights)
    empty = InstanceData(bboxes=torch.zeros(0, 4), weights=torch.zeros(0))
    assert get_gt_weights(empty).numel() == 0


@pytest.mark.parametrize(
    'weights,match',
    [
        (torch.ones(3, 1), 'shape'),
        (torch.tensor([0.5, float('nan'), 1.0]), 'finite'),
        (torch.tensor([0.5, float('inf'), 1.0]), 'finite'),
        (torch.tensor([0.5, -0.5, 1.0]), '>= 0'),
    ],
)
def test_invalid_weights_raise(weights, match):
    with pytest.raises(ValueError, match=match):
        get_gt_weights(_gt(weights=weights))
