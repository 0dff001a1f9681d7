"""The one per-object weight rule, for numpy (transforms) and torch (heads) weights."""

import numpy as np
import pytest
import torch

from mmext.utils.instance_weights import check_instance_weights


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
