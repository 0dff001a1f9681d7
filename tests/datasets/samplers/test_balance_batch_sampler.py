"""Property tests of BalanceBatchSampler (Balance-batch, section II.C, Algorithm 1)."""

import json
import os.path as osp
import sys
from typing import List
from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler

from mmext.datasets.samplers import BalanceBatchSampler, ClassIndex
from mmext.datasets.samplers.balance_batch_sampler import greedy_max_cover
from tests.scripts import run_torchrun


class ToyDataset:
    """Only ``len`` and ``metainfo``: the class index is passed to the sampler."""

    def __init__(self, n: int, num_classes: int) -> None:
        self.n = n
        self.metainfo = dict(classes=tuple(f'c{i}' for i in range(num_classes)))

    def __len__(self) -> int:
        return self.n


def synthetic_index(rng, n, num_classes, max_per_image=5, alpha=1.2, empty=0.0):
    """Long-tailed class sets: class k has frequency ~ 1 / (k + 1)^alpha."""
    freq = 1.0 / np.arange(1, num_classes + 1) ** alpha
    freq /= freq.sum()
    rows = []
    for _ in range(n):
        k = 0 if rng.random() < empty else rng.integers(1, max_per_image + 1)
        k = min(k, num_classes)
        rows.append(rng.choice(num_classes, size=k, replace=False, p=freq).tolist())
    return ClassIndex.from_lists(rows, num_classes)


def make_sampler(index, batch_max, batch_cl, seed=0, world=1, rank=0, infinite=False, **kwargs):
    ds = ToyDataset(len(index), index.num_classes)
    with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, world)):
        base = InfiniteSampler(ds, seed=seed) if infinite else DefaultSampler(ds, seed=seed)
    return BalanceBatchSampler(
        base, batch_size=batch_max, batch_cl=batch_cl, class_index=index, **kwargs
    )


def batch_classes(index, batch: List[int]) -> set:
    return set(np.concatenate([index.image_classes[i] for i in batch]).tolist())


def check_batches(index, batches, batch_max, batch_cl, stats):
    """The Balance-batch invariants; returns the number of short batches."""
    short = 0
    for b in batches:
        assert 1 <= len(b) <= batch_max
        assert len(set(b)) == len(b), 'an image twice in one batch'
        seen = set(index.image_classes[b[0]].tolist())
        for i in b[1:]:
            new = set(index.image_classes[i].tolist()) - seen
            assert new, 'every image after the first adds a class (non-repeating)'
            seen |= new
        short += len(seen) < batch_cl
    assert short == stats['short_batches']
    return short


def test_property_many_seeds_and_class_sets():
    rng = np.random.default_rng(2024)
    checked = 0
    for trial in range(40):
        n = int(rng.integers(10, 300))
        num_classes = int(rng.integers(2, 40))
        index = synthetic_index(
            rng, n, num_classes, int(rng.integers(1, 6)), empty=float(rng.choice([0.0, 0.1]))
        )
        batch_max = int(rng.integers(1, 9))
        greedy, _ = greedy_max_cover(index, batch_max)
        batch_cl = int(rng.integers(1, greedy + 1))
        for seed in (0, trial + 1):
            sampler = make_sampler(index, batch_max, batch_cl, seed=seed)
            batches = list(sampler)
            assert len(batches) == len(sampler)
            check_batches(index, batches, batch_max, batch_cl, sampler.epoch_stats)
            used = np.zeros(n, int)
            for b in batches:
                used[b] += 1
            assert used.min() >= 1, 'every image is used at least once per epoch'
            # deterministic for (seed, epoch)
            assert list(make_sampler(index, batch_max, batch_cl, seed=seed)) == batches
            checked += 1
    assert checked == 80


def test_easy_settings_have_no_short_batches():
    rng = np.random.default_rng(7)
    for seed in range(10):
        index = synthetic_index(rng, 400, 30, 4, alpha=0.5)
        sampler = make_sampler(index, 6, 6, seed=seed)
        batches = list(sampler)
        assert check_batches(index, batches, 6, 6, sampler.epoch_stats) == 0
        assert all(len(batch_classes(index, b)) >= 6 for b in batches)


def test_batch_closes_once_batch_cl_is_reached():
    # every image holds exactly 2 classes (like VOC: background + one object)
    rows = [[0, 1 + i % 9] for i in range(90)]
    index = ClassIndex.from_lists(rows, 10)
    assert all(len(b) == 1 for b in make_sampler(index, 9, 2))
    sampler = make_sampler(index, 4, 4)
    for b in sampler:
        assert len(batch_classes(index, b)) == 4 and len(b) == 3


def test_set_epoch_and_determinism():
    index = synthetic_index(np.random.default_rng(3), 200, 12)
    sampler = make_sampler(index, 5, 4, seed=11)
    e0 = list(sampler)
    sampler.sampler.set_epoch(1)  # what DistSamplerSeedHook does
    assert sampler.epoch == 1
    e1 = list(sampler)
    assert e1 != e0 and len(sampler) == len(e1)
    sampler.set_epoch(0)
    assert sampler.sampler.epoch == 0 and list(sampler) == e0


def test_dist_sampler_seed_hook_reaches_batch_sampler():
    from mmengine.hooks import DistSamplerSeedHook
    from torch.utils.data import DataLoader

    index = synthetic_index(np.random.default_rng(4), 60, 8)
    sampler = make_sampler(index, 4, 3, seed=5)
    loader = DataLoader(list(range(60)), batch_sampler=sampler, collate_fn=list)
    runner = mock.MagicMock()
    runner.train_loop.dataloader = loader
    runner.epoch = 3
    DistSamplerSeedHook().before_train_epoch(runner)
    assert sampler.epoch == 3
    assert [list(b) for b in loader] == sampler.plan(3)


def test_runner_build_dataloader_defaults_batch_max_to_batch_size():
    from mmengine.runner import Runner

    import mmext  # noqa: F401  (registers mmext.BalanceBatchSampler)

    index = synthetic_index(np.random.default_rng(5), 50, 6)
    loader = Runner.build_dataloader(
        dict(
            dataset=list(range(50)),
            batch_size=3,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True, dataset=list(range(50))),
            batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=3, class_index=index),
            collate_fn=dict(type='pseudo_collate'),
        ),
        seed=0,
    )
    assert isinstance(loader.batch_sampler, BalanceBatchSampler)
    assert loader.batch_sampler.batch_max == 3
    assert sum(len(b) for b in loader) >= 50


def test_epoch_based_runner_uses_each_epochs_plan(tmp_path):
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import mmext  # noqa: F401

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='loss'):
            return dict(loss=(self.w - torch.as_tensor(inputs, dtype=torch.float).mean()) ** 2)

    seen = {}

    class Record(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.setdefault(runner.epoch, []).append(list(data_batch['inputs']))

    index = synthetic_index(np.random.default_rng(9), 40, 6)
    data = [dict(inputs=i) for i in range(40)]
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        default_scope='mmengine',
        train_dataloader=dict(
            dataset=data,
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='mmext.BalanceBatchSampler', batch_cl=3, class_index=index),
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        custom_hooks=[Record()],
        default_hooks=dict(logger=None, checkpoint=None),
        randomness=dict(seed=1),
    )
    runner.train()
    sampler = runner.train_dataloader.batch_sampler
    assert [[int(i) for i in b] for b in seen[0]] == sampler.plan(0)
    assert [[int(i) for i in b] for b in seen[1]] == sampler.plan(1) != sampler.plan(0)


def test_faked_distributed_run():
    rng = np.random.default_rng(6)
    for world in (2, 3, 4):
        for seed in range(3):
            index = synthetic_index(rng, int(rng.integers(world * 5, 250)), 15)
            plans = []
            for rank in range(world):
                sampler = make_sampler(index, 4, 4, seed=seed, world=world, rank=rank)
                assert (sampler.rank, sampler.world_size) == (rank, world)
                plans.append(list(sampler))
                check_batches(index, plans[-1], 4, 4, sampler.epoch_stats)
            assert len({len(p) for p in plans}) == 1, 'same number of batches per rank'
            images = [set(i for b in p for i in b) for p in plans]
            for a in range(world):
                for b in range(a + 1, world):
                    assert not images[a] & images[b], 'ranks hold disjoint images'
            assert set.union(*images) == set(range(len(index)))


def test_infinite_sampler_chains_epochs():
    index = synthetic_index(np.random.default_rng(8), 40, 6)
    sampler = make_sampler(index, 3, 3, infinite=True)
    it = iter(sampler)
    n0, n1 = len(sampler.plan(0)), len(sampler.plan(1))
    got = [next(it) for _ in range(n0 + n1 + 5)]
    assert got[:n0] == sampler.plan(0) and got[n0 : n0 + n1] == sampler.plan(1)
    assert got[n0 + n1 :] == sampler.plan(2)[:5]


def test_infeasible_requests_fail_at_build_time():
    index = ClassIndex.from_lists([[0, 1], [1], [2], [0, 2]], 5)
    with pytest.raises(ValueError, match=r'batch_cl=4 but only 3 distinct classes'):
        make_sampler(index, 4, 4)
    with pytest.raises(ValueError, match=r'batch_cl=3: no batch of batch_max=1 .*holds 2'):
        make_sampler(index, 1, 3)
    with pytest.raises(ValueError, match='excluded'):
        make_sampler(index, 4, 3, exclude_classes=[0])
    with pytest.raises(ValueError, match='>= 1'):
        make_sampler(index, 4, 0)
    with pytest.raises(ValueError, match='BalanceBatchSampler needs a dataset'):
        BalanceBatchSampler(object(), batch_size=2, batch_cl=1, class_index=index)
    with pytest.raises(ValueError, match='cannot feed'):
        make_sampler(index, 2, 1, world=8)


def test_hard_requests_stay_bounded_and_are_counted():
    # only image 0 can complete a batch of 3 classes with batch_max=2
    rows = [[0, 1, 2]] + [[0]] * 200
    index = ClassIndex.from_lists(rows, 3)
    sampler = make_sampler(index, 2, 3, max_retries=2)
    batches = list(sampler)
    short = check_batches(index, batches, 2, 3, sampler.epoch_stats)
    assert short == 0  # the class-driven fill reuses image 0
    assert sum(0 in b for b in batches) >= len(batches) - 1


def test_exclude_classes_by_name():
    rows = [[0, 1], [0, 2], [0, 3], [0, 1, 2]]
    index = ClassIndex.from_lists(rows, 4)
    sampler = make_sampler(index, 2, 2, exclude_classes=['c0'])
    assert sampler.exclude_classes == [0]
    for b in sampler:
        assert len(batch_classes(sampler.index, b)) >= 2


@pytest.mark.timeout(30)
@pytest.mark.skipif(sys.platform != 'linux', reason='gloo launch tested on linux')
def test_real_two_process_gloo_run(tmp_path):
    """torchrun, 2 CPU processes on gloo; the worker all_gathers and checks the plans."""
    worker = osp.join(osp.dirname(__file__), 'dist_balance_batch_worker.py')
    out = tmp_path / 'result.json'
    returncode, log = run_torchrun(worker, str(out), timeout=28)
    assert returncode == 0, log[-3000:]
    result = json.loads(out.read_text())
    assert result['disjoint'] and result['equal_lengths'] and result['covers_all']
    assert result['fixed_sizes']
    assert result['lengths'][0] == result['lengths'][1] > 0
    assert result['failures'] == ['TypeError', 'RuntimeError']
