"""Tests of BalanceBatchSampler's ``fill='random'`` (the paper's loading rule, Sec. II.C).

The rule, checked on every batch: at most ``batch_max`` distinct images; at most
``batch_cl`` classes (a single image holding more is a batch of its own); a batch of
``batch_max`` images (more than one) holds exactly ``batch_cl`` classes; short batches are
counted. The expected plans come from :func:`simulate`, a direct list-based re-implementation
of the rule written here, not from the sampler's code.
"""

from typing import List, Sequence

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler

from mmext.datasets.samplers import ClassIndex
from mmext.datasets.samplers.balance_batch_sampler import BalanceBatchSampler, greedy_max_cover

from .test_balance_batch_sampler import ToyDataset, batch_classes, make_sampler, synthetic_index


def check_rule(index, batches, batch_max, batch_cl, stats):
    """The paper's rule on every batch; returns ``(short, over)`` and checks the counts."""
    short = over = 0
    for b in batches:
        assert 1 <= len(b) <= batch_max
        assert len(set(b)) == len(b), 'an image twice in one batch'
        classes = len(batch_classes(index, b))
        if classes > batch_cl:
            assert len(b) == 1, 'only a single image may hold more than batch_cl classes'
            over += 1
        if len(b) == batch_max > 1:
            assert classes == batch_cl, 'a full batch holds exactly batch_cl classes'
        short += classes < batch_cl
    assert short == stats['short_batches'] and over == stats['over_cl_batches']
    return short, over


def simulate(rows: Sequence[Sequence[int]], order: Sequence[int], batch_max, batch_cl, draws):
    """Sec. II.C read per draw, on one rank's stream ``order`` (no padding)."""
    unused = list(order)
    batches: List[List[int]] = []
    while unused:
        batch = [unused.pop(0)]
        classes = set(rows[batch[0]])
        look = looked = 0
        while (
            len(classes) < batch_cl
            and len(batch) < batch_max
            and looked < draws
            and look < len(unused)
        ):
            looked += 1
            image = unused[look]
            after = classes | set(rows[image])
            full = len(batch) + 1 == batch_max
            if len(after) <= batch_cl and (not full or len(after) == batch_cl):
                batch.append(unused.pop(look))
                classes = after
            else:
                look += 1  # discarded: stays unused, the next image is drawn
        batches.append(batch)
    return batches


def digits_like_rows(rng, n=600, num_digits=10, ratio=10.0):
    """Background (class 0) + 2-4 distinct digits, digit k ~ ratio^(-k/9) (as the data)."""
    freq = ratio ** (-np.arange(num_digits) / (num_digits - 1))
    freq /= freq.sum()
    return [
        [0]
        + (1 + rng.choice(num_digits, size=int(rng.integers(2, 5)), replace=False, p=freq)).tolist()
        for _ in range(n)
    ]


def test_hand_checked_example():
    # shuffle=False: the stream is 0, 1, 2, ...; batch_max 3, batch_cl 3
    rows = [[0], [0, 1], [2, 3], [1], [0, 2], [3]]
    index = ClassIndex.from_lists(rows, 4)
    base = DefaultSampler(ToyDataset(6, 4), shuffle=False)
    sampler = BalanceBatchSampler(base, 3, 3, class_index=index, fill='random')
    # batch 1: seed 0 {0}; 1 -> {0,1}; 2 would make 4 classes: discarded; 3 would fill the
    # last slot with 2 classes: discarded; 4 -> {0,1,2}, closes
    # batch 2: seed 2 {2,3}; 3 -> {1,2,3}, closes
    # batch 3: seed 5 {3}; no unused image left: short
    assert sampler.plan(0) == [[0, 1, 4], [2, 3], [5]]
    stats = sampler.epoch_stats
    assert (stats['discards'], stats['short_batches'], stats['over_cl_batches']) == (2, 1, 0)
    assert len(sampler) == 3 and sampler.mean_batch_size(0) == 2.0
    assert simulate(rows, range(6), 3, 3, 10**6) == sampler.plan(0)
    # the greedy fill of the same stream takes 2 (a new class) and overshoots to 4 classes
    greedy = BalanceBatchSampler(base, 3, 3, class_index=index)
    assert greedy.plan(0)[:2] == [[0, 1, 2], [3, 4]]
    # an image with more than batch_cl classes is a batch of its own
    rows = [[0, 1, 2], [0], [1], [0, 1]]
    over = BalanceBatchSampler(
        DefaultSampler(ToyDataset(4, 3), shuffle=False),
        2,
        2,
        class_index=ClassIndex.from_lists(rows, 3),
        fill='random',
    )
    assert over.plan(0) == [[0], [1, 2], [3]]
    assert over.epoch_stats['over_cl_batches'] == 1 and over.epoch_stats['short_batches'] == 0


def test_property_many_seeds():
    rng = np.random.default_rng(2026)
    for trial in range(40):
        n = int(rng.integers(10, 300))
        index = synthetic_index(
            rng,
            n,
            int(rng.integers(2, 30)),
            int(rng.integers(1, 6)),
            empty=float(rng.choice([0.0, 0.1])),
        )
        batch_max = int(rng.integers(1, 9))
        greedy, _ = greedy_max_cover(index, batch_max)
        batch_cl = int(rng.integers(1, greedy + 1))
        max_scan = int(rng.choice([3, 20, 100]))
        kw = dict(fill='random', max_scan=max_scan)
        sampler = make_sampler(index, batch_max, batch_cl, seed=trial, **kw)
        rows = [r.tolist() for r in index.image_classes]
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            batches = list(sampler)
            assert len(batches) == len(sampler) == sampler.epoch_stats['num_batches']
            check_rule(index, batches, batch_max, batch_cl, sampler.epoch_stats)
            counts = np.bincount([i for b in batches for i in b], minlength=n)
            assert (counts == 1).all(), 'one rank: every image exactly once per epoch'
            order = np.random.default_rng([trial, epoch]).permutation(n)
            assert batches == simulate(rows, order, batch_max, batch_cl, max_scan)
            again = make_sampler(index, batch_max, batch_cl, seed=trial, **kw)
            assert again.plan(epoch) == batches, 'deterministic for (seed, epoch)'
        assert sampler.plan(0) != sampler.plan(1) or n < 20


def test_random_fill_loads_more_images_than_greedy():
    rng = np.random.default_rng(11)
    rows = digits_like_rows(rng)
    index = ClassIndex.from_lists(rows, 11)
    for seed in range(3):
        paper = make_sampler(index, 8, 11, seed=seed, fill='random')
        greedy = make_sampler(index, 8, 11, seed=seed)
        order = np.random.default_rng([seed, 0]).permutation(len(rows))
        expected = simulate(rows, order, 8, 11, 8 * 8 + 32)
        sim_mean = np.mean([len(b) for b in expected])
        assert paper.mean_batch_size(0) == pytest.approx(sim_mean)
        greedy_mean = np.mean([len(b) for b in greedy.plan(0)])
        assert greedy.mean_batch_size(0) == pytest.approx(greedy_mean)
        assert sim_mean > greedy_mean + 1.0, (sim_mean, greedy_mean)


def test_faked_distributed_sharding():
    rng = np.random.default_rng(12)
    for world in (2, 3, 4):
        for seed in range(3):
            n = int(rng.integers(world * 5, 250))
            index = synthetic_index(rng, n, 15)
            rows = [r.tolist() for r in index.image_classes]
            perm = np.random.default_rng([seed, 0]).permutation(n)
            plans = []
            for rank in range(world):
                sampler = make_sampler(
                    index, 4, 4, seed=seed, world=world, rank=rank, fill='random'
                )
                assert (sampler.rank, sampler.world_size) == (rank, world)
                plans.append(list(sampler))
                assert len(plans[-1]) == len(sampler)
                check_rule(index, plans[-1], 4, 4, sampler.epoch_stats)
                own = simulate(rows, perm[rank::world], 4, 4, 4 * 8 + 32)
                padded = sampler.epoch_stats['padded_batches']
                assert plans[-1][: len(own)] == own and len(own) + padded == len(plans[-1])
            assert len({len(p) for p in plans}) == 1, 'same number of batches per rank'
            images = [set(i for b in p for i in b) for p in plans]
            for r in range(world):
                assert images[r] == set(perm[r::world].tolist()), 'a rank uses its own part'
            assert set.union(*images) == set(range(n))


def test_default_is_greedy_and_bad_settings_fail():
    index = synthetic_index(np.random.default_rng(13), 80, 8)
    assert make_sampler(index, 4, 3).fill == 'greedy'
    assert make_sampler(index, 4, 3).plan(0) == make_sampler(index, 4, 3, fill='greedy').plan(0)
    with pytest.raises(ValueError, match='fill must be one of'):
        make_sampler(index, 4, 3, fill='paper')
    with pytest.raises(ValueError, match="needs fill='greedy'"):
        make_sampler(index, 4, 3, fill='random', fixed_size=True)


def test_infinite_sampler_chains_random_fill_epochs():
    index = synthetic_index(np.random.default_rng(14), 40, 6)
    sampler = make_sampler(index, 3, 3, infinite=True, fill='random')
    it = iter(sampler)
    n0 = len(sampler.plan(0))
    got = [next(it) for _ in range(n0 + 3)]
    assert got[:n0] == sampler.plan(0) and got[n0:] == sampler.plan(1)[:3]
