"""One preamble for mmext's batch samplers (issue 28): dataset, rank, world size and seed are
resolved by the same rule, and both samplers behave alike."""

from types import SimpleNamespace
from unittest import mock

import pytest

from mmext.datasets.samplers import BalanceBatchSampler, TiltedClassSampler
from mmext.datasets.samplers import sampler_context as context_module
from mmext.datasets.samplers.class_index import ClassIndex
from mmext.datasets.samplers.sampler_context import sampler_context


def test_rule():
    wrapped = SimpleNamespace(dataset=[1, 2, 3], rank=1, world_size=4, seed=7)
    with mock.patch.object(context_module, 'get_dist_info', return_value=(0, 1)):
        assert sampler_context('X', wrapped) == ([1, 2, 3], 1, 4, 7)  # the wrapped sampler's
        assert sampler_context('X', wrapped, seed=3).seed == 3  # explicit seed first
        assert sampler_context('X', dataset=[0]).rank == 0  # no sampler: get_dist_info
    with mock.patch.object(context_module, 'sync_random_seed', return_value=-1):
        assert sampler_context('X', dataset=[0]).seed == 0xFFFFFFFF  # 32 bits
    with pytest.raises(ValueError, match='X needs a dataset'):
        sampler_context('X', object())


@pytest.mark.parametrize('cls', [BalanceBatchSampler, TiltedClassSampler])
def test_both_samplers_follow_it(cls):
    index = ClassIndex.from_lists([[0, 1], [1], [2], [0, 2]] * 2, 3)
    wrapped = SimpleNamespace(dataset=list(range(8)), rank=1, world_size=2, seed=5, shuffle=True)
    kwargs = dict(batch_cl=1) if cls is BalanceBatchSampler else {}
    sampler = cls(wrapped, batch_size=2, class_index=index, **kwargs)
    assert (sampler.rank, sampler.world_size, sampler.seed) == (1, 2, 5)
    with pytest.raises(ValueError, match=f'{cls.__name__} needs a dataset'):
        cls(object(), batch_size=2, class_index=index, **kwargs)
