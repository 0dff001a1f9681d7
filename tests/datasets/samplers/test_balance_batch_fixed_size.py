"""Property tests of BalanceBatchSampler's fixed-size mode (``fixed_size=True``).

Every batch holds exactly ``batch_max`` distinct images and at least ``batch_cl`` classes
(short batches only as the counted fallback); the helpers are those of
``test_balance_batch_sampler.py``.
"""

from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler

from mmext.datasets.samplers import BalanceBatchSampler, ClassIndex
from mmext.datasets.samplers.balance_batch_sampler import greedy_max_cover

from .test_balance_batch_sampler import ToyDataset, batch_classes, make_sampler, synthetic_index


def check_fixed(index, batches, batch_max, batch_cl, stats):
    """Fixed size: exactly batch_max distinct images; returns the number of short batches."""
    short = 0
    for b in batches:
        assert len(b) == batch_max and len(set(b)) == batch_max
        short += len(batch_classes(index, b)) < batch_cl
    assert short == stats['short_batches'], 'every short batch is counted'
    assert stats['num_images'] == batch_max * len(batches) == batch_max * stats['num_batches']
    return short


def test_fixed_size_property_many_seeds():
    rng = np.random.default_rng(2025)
    for trial in range(50):
        n = int(rng.integers(10, 300))
        index = synthetic_index(
            rng,
            n,
            int(rng.integers(2, 40)),
            int(rng.integers(1, 6)),
            empty=float(rng.choice([0.0, 0.1])),
        )
        batch_max = int(rng.integers(1, 10))
        greedy, _ = greedy_max_cover(index, batch_max)
        batch_cl = int(rng.integers(1, greedy + 1))
        sampler = make_sampler(index, batch_max, batch_cl, seed=trial, fixed_size=True)
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            batches = list(sampler)
            assert len(batches) == len(sampler)
            check_fixed(index, batches, batch_max, batch_cl, sampler.epoch_stats)
            assert sampler.mean_batch_size() == batch_max
            used = np.zeros(n, int)
            for b in batches:
                used[b] += 1
            assert used.min() >= 1, 'every image is used at least once per epoch'
            # top-up slots go to unused images while any is left: only the last batch
            # of a single rank can need used ones
            assert sampler.epoch_stats['reused_fillers'] <= batch_max - 1
            again = make_sampler(index, batch_max, batch_cl, seed=trial, fixed_size=True)
            assert again.plan(epoch) == batches, 'deterministic for (seed, epoch)'


def test_fixed_size_fill_order_by_hand():
    # DefaultSampler(shuffle=False): the stream is the dataset order
    rows = [[0], [0], [0], [1], [2], [0], [3], [0]]
    index = ClassIndex.from_lists(rows, 4)
    ds = ToyDataset(len(index), 4)
    with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(0, 1)):
        base = DefaultSampler(ds, shuffle=False, seed=0)
    sampler = BalanceBatchSampler(
        base, batch_size=3, batch_cl=1, class_index=index, fixed_size=True
    )
    plan = sampler.plan(0)
    # seed 0 holds batch_cl classes; top-up prefers 3 and 4 (new classes) to 1 and 2
    assert plan[0] == [0, 3, 4]
    # seed 1: 6 adds class 3; then the first unused image without a new class, 2
    assert plan[1] == [1, 6, 2]
    # seed 5: the last unused image 7, then a used image of a missing class (1, 2 or 3)
    assert plan[2][:2] == [5, 7] and plan[2][2] in (3, 4, 6) and len(plan) == 3
    assert sampler.epoch_stats['reused_fillers'] == 1
    assert sampler.epoch_stats['num_images'] == 9 and sampler.mean_batch_size(0) == 3
    # the default mode on the same stream: batches close at batch_cl = 1 class
    default = BalanceBatchSampler(base, batch_size=3, batch_cl=1, class_index=index)
    assert default.plan(0) == [[i] for i in range(8)] and default.mean_batch_size() == 1


def test_mean_batch_size_and_num_images():
    rng = np.random.default_rng(12)
    for seed in range(10):
        index = synthetic_index(rng, 300, 20, 3)
        default = make_sampler(index, 6, 6, seed=seed)
        fixed = make_sampler(index, 6, 6, seed=seed, fixed_size=True)
        d, f = list(default), list(fixed)
        assert default.mean_batch_size() == pytest.approx(np.mean([len(b) for b in d]))
        assert default.mean_batch_size(1) == pytest.approx(
            np.mean([len(b) for b in default.plan(1)])
        )
        assert default.epoch_stats['num_images'] == sum(len(b) for b in default.plan(1))
        assert fixed.mean_batch_size() == 6 and len(f) >= 300 / 6
        assert len(f) < len(d) and default.mean_batch_size() < 6


def test_fixed_size_faked_distributed_run():
    rng = np.random.default_rng(16)
    for world in (2, 3, 4):
        for seed in range(5):
            index = synthetic_index(rng, int(rng.integers(world * 8, 250)), 15)
            plans = []
            for rank in range(world):
                sampler = make_sampler(
                    index, 8, 5, seed=seed, world=world, rank=rank, fixed_size=True
                )
                plans.append(list(sampler))
                assert len(plans[-1]) == len(sampler)
                check_fixed(index, plans[-1], 8, 5, sampler.epoch_stats)
            assert len({len(p) for p in plans}) == 1, 'same number of batches per rank'
            images = [set(i for b in p for i in b) for p in plans]
            for a in range(world):
                for b in range(a + 1, world):
                    assert not images[a] & images[b], 'ranks hold disjoint images'
            assert set.union(*images) == set(range(len(index)))


def test_fixed_size_infinite_sampler_and_hard_request():
    index = synthetic_index(np.random.default_rng(18), 40, 6)
    sampler = make_sampler(index, 4, 3, infinite=True, fixed_size=True)
    it = iter(sampler)
    n0 = len(sampler.plan(0))
    got = [next(it) for _ in range(n0 + 3)]
    assert got[:n0] == sampler.plan(0) and got[n0:] == sampler.plan(1)[:3]
    assert all(len(b) == 4 for b in got)
    rows = [[0, 1, 2]] + [[0]] * 200  # only image 0 completes 3 classes
    hard = ClassIndex.from_lists(rows, 3)
    sampler = make_sampler(hard, 2, 3, max_retries=2, fixed_size=True)
    batches = list(sampler)
    assert check_fixed(hard, batches, 2, 3, sampler.epoch_stats) == 0
    assert all(0 in b for b in batches)


def test_fixed_size_infeasible_requests_fail_at_build_time():
    index = ClassIndex.from_lists([[0, 1], [1], [2], [0, 2], [1, 2], [0]], 3)
    with pytest.raises(ValueError, match=r'batch_cl=3: no batch of batch_max=1 .*holds 2'):
        make_sampler(index, 1, 3, fixed_size=True)  # as in the default mode
    with pytest.raises(
        ValueError,
        match=r'fixed_size: batch_max=4 .*smallest rank part '
        r'holds 3 images \(6 images over 2 ranks\)',
    ):
        make_sampler(index, 4, 2, world=2, fixed_size=True)
    with pytest.raises(ValueError, match=r'batch_max=7 .*holds 6 images'):
        make_sampler(index, 7, 2, fixed_size=True)
    make_sampler(index, 7, 2)  # the default mode: batches close before batch_max
    assert len(make_sampler(index, 3, 2, world=2, fixed_size=True)) > 0


def test_fixed_size_config_key():
    from mmengine.runner import Runner

    import mmext  # noqa: F401

    index = synthetic_index(np.random.default_rng(19), 100, 12, 3)
    loader = Runner.build_dataloader(
        dict(
            dataset=list(range(100)),
            batch_size=8,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(
                type='mmext.BalanceBatchSampler',
                batch_size=8,
                batch_cl=6,
                fixed_size=True,
                class_index=index,
            ),
            collate_fn=dict(type='pseudo_collate'),
        ),
        seed=0,
    )
    sampler = loader.batch_sampler
    assert isinstance(sampler, BalanceBatchSampler) and sampler.fixed_size
    batches = [list(b) for b in loader]
    assert batches == sampler.plan(0) and all(len(b) == 8 for b in batches)
    assert set(i for b in batches for i in b) == set(range(100))
