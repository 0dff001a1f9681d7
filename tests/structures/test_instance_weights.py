"""mmext.structures.instance_weights: the one per-object weight rule, for numpy (transforms)
and torch (heads) weights, and the reader of packed weights (``get_gt_weights``)."""

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmext.structures.instance_weights import check_instance_weights, get_gt_weights


@pytest.mark.parametrize('make', [np.asarray, torch.tensor])
def test_valid_weights_pass(make):
    check_instance_weights(make([0.0, 0.5, 2.0]), 3)
    check_instance_weights(make(np.zeros(0, np.float32)), 0)


@pytest.mark.parametrize('make', [np.asarray, torch.tensor])
@pytest.mark.parametrize(
    'values,num,match',
    [
        ([[0.5], [1.0]], 2, r'shape \(2,\)'),
        ([0.5, 1.0], 3, r'3 boxes'),
        ([0.5, float('nan')], 2, 'finite and >= 0'),
        ([0.5, float('inf')], 2, 'finite and >= 0'),
        ([0.5, -0.1], 2, 'finite and >= 0'),
    ],
)
def test_invalid_weights_raise(make, values, num, match):
    with pytest.raises(ValueError, match=match):
        check_instance_weights(make(values), num, 'w', hint=' (hint)')


def test_name_and_hint_in_message():
    with pytest.raises(ValueError, match=r'^gt_w must have shape \(1,\).* got \(2,\): fix it$'):
        check_instance_weights(np.ones(2), 1, 'gt_w', hint=': fix it')


def test_device_tensors_are_checked_by_a_device_side_assert(monkeypatch):
    """Off CPU the values are checked with ``torch._assert_async`` (no read-back, no host
    sync in the training step); the branch is run here on CPU tensors through the switch.
    The shape is still checked on the host (it is known there)."""
    from mmext.structures import instance_weights

    calls = []

    def fake_assert_async(cond, *msg):
        calls.append((bool(cond), msg))

    monkeypatch.setattr(instance_weights, '_checked_on_host', lambda tensor: False)
    monkeypatch.setattr(torch, '_assert_async', fake_assert_async)
    check_instance_weights(torch.tensor([0.0, 0.5, 2.0]), 3, 'w')
    for bad in (float('nan'), float('inf'), -0.5):
        check_instance_weights(torch.tensor([0.5, bad]), 2, 'w')  # no ValueError here
    assert (
        calls
        == [(True, ('w must be finite and >= 0',))] + [(False, ('w must be finite and >= 0',))] * 3
    )
    with pytest.raises(ValueError, match=r'shape \(2,\)'):
        check_instance_weights(torch.ones(3), 2, 'w')
    # the real op on a CPU tensor fails at once, with the message
    monkeypatch.undo()
    monkeypatch.setattr(instance_weights, '_checked_on_host', lambda tensor: False)
    with pytest.raises(RuntimeError, match='w must be finite and >= 0'):
        check_instance_weights(torch.tensor([0.5, -1.0]), 2, 'w')


# get_gt_weights (was tests/models/heads/test_instance_weights.py)


def _gt(**fields):
    return InstanceData(bboxes=torch.zeros(3, 4), labels=torch.zeros(3, dtype=torch.long), **fields)


def test_get_gt_weights_absent_and_present():
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
def test_get_gt_weights_invalid_weights_raise(weights, match):
    with pytest.raises(ValueError, match=match):
        get_gt_weights(_gt(weights=weights))
