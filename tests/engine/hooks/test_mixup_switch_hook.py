"""Tests of mmext.MixupSwitchOffHook (GluonCV's --no-mixup-epochs, iteration-based)."""

import itertools
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmdet.datasets import MultiImageMixDataset
from mmengine.dataset import InfiniteSampler, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from mmext.engine.hooks import MixupSwitchOffHook
from mmext.registry import HOOKS
from tests.datasets.transforms.test_coherent_mixup import _ToyDetDataset

BATCH = 2
MAX_ITERS = 8


def _runner(num_workers=0, ratio=0.5):
    init_default_scope('mmdet')
    dataset = MultiImageMixDataset(
        dataset=_ToyDetDataset(num=6),
        pipeline=[
            dict(type='mmext.CoherentMixUp', ratio=ratio),
            dict(type='mmext.PackDetInputsWithWeights'),
        ],
    )
    loader = DataLoader(
        dataset,
        batch_size=BATCH,
        sampler=InfiniteSampler(dataset, shuffle=True, seed=3),
        collate_fn=pseudo_collate,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    loop = SimpleNamespace(dataloader_iterator=_InfiniteDataloaderIterator(loader))
    return SimpleNamespace(
        train_loop=loop,
        train_dataloader=loader,
        max_iters=MAX_ITERS,
        iter=0,
        logger=logging.getLogger('test_mixup_switch_hook'),
    )


def _train(runner, hook, start=0):
    """Fetch a batch per iteration like IterBasedTrainLoop, calling the hook's methods."""
    runner.iter = start
    hook.before_train(runner)
    ratios, ids, weights = [], [], []
    for i in range(start, runner.max_iters):
        runner.iter = i
        batch = next(runner.train_loop.dataloader_iterator)
        samples = batch['data_samples']
        ratios.append([s.metainfo.get('mixup_ratio') for s in samples])
        ids.append([s.metainfo['img_id'] for s in samples])
        weights.append(torch.cat([s.gt_instances.weights for s in samples]))
        hook.after_train_iter(runner, batch_idx=i)
    return ratios, ids, weights


@pytest.mark.parametrize('num_workers', [0, 1])
def test_mixup_stops_exactly_at_the_switch_iteration(num_workers):
    runner = _runner(num_workers)
    hook = MixupSwitchOffHook(last_iters=3)
    ratios, ids, weights = _train(runner, hook)
    assert hook.switch_iter == MAX_ITERS - 3 and hook.switched
    # iterations 0..4: every sample mixed evenly (GluonCV's fixed 0.5); 5..7: none mixed
    assert ratios[:5] == [[0.5] * BATCH] * 5
    assert ratios[5:] == [[None] * BATCH] * 3
    for w in weights[:5]:
        assert torch.all(w == 0.5)
    for w in weights[5:]:
        assert torch.all(w == 1.0)
    if num_workers == 0:  # seed 3 up to the switch, then the fresh stream of seed 3 + 5
        dataset = runner.train_dataloader.dataset
        before = InfiniteSampler(dataset, shuffle=True, seed=3)
        after = InfiniteSampler(dataset, shuffle=True, seed=3 + 5)
        expected = list(itertools.islice(iter(before), 5 * BATCH))
        expected += list(itertools.islice(iter(after), 3 * BATCH))
        assert sum(ids, []) == expected


def test_resumed_after_the_switch_point_trains_without_mixup():
    runner = _runner()
    hook = MixupSwitchOffHook(last_ratio=0.25)
    ratios, _, _ = _train(runner, hook, start=7)
    assert hook.switch_iter == 6 and ratios == [[None] * BATCH]


def test_last_ratio_and_zero():
    assert MixupSwitchOffHook(last_ratio=0.1).resolve_switch_iter(2000) == 1800
    assert MixupSwitchOffHook(last_ratio=0.1).resolve_switch_iter(4) == 4
    assert MixupSwitchOffHook(last_iters=0).resolve_switch_iter(100) == 100
    assert MixupSwitchOffHook(last_iters=500).resolve_switch_iter(100) == 0
    runner = _runner()
    hook = MixupSwitchOffHook(last_iters=0)
    ratios, _, _ = _train(runner, hook)
    assert not hook.switched and ratios == [[0.5] * BATCH] * MAX_ITERS


def test_bad_arguments_and_setups():
    for kwargs in ({}, dict(last_iters=1, last_ratio=0.1), dict(last_iters=-1)):
        with pytest.raises(ValueError):
            MixupSwitchOffHook(**kwargs)
    with pytest.raises(ValueError, match='last_ratio'):
        MixupSwitchOffHook(last_ratio=1.5)
    runner = _runner()
    hook = MixupSwitchOffHook(last_iters=1, transform_types=('YOLOXHSVRandomAug',))
    hook.before_train(runner)
    with pytest.raises(ValueError, match='YOLOXHSVRandomAug'):
        hook.switch_off(runner)
    runner.train_loop = SimpleNamespace()
    with pytest.raises(TypeError, match='IterBasedTrainLoop'):
        MixupSwitchOffHook(last_iters=1).before_train(runner)


def test_registered():
    hook = HOOKS.build(dict(type='mmext.MixupSwitchOffHook', last_iters=2))
    assert isinstance(hook, MixupSwitchOffHook)


def test_even_ratio_blends_exactly_half_and_half():
    """GluonCV ``set_mixup(np.random.uniform, 0.5, 0.5)``: every mixed pixel is 0.5 a + 0.5 b."""
    from mmext.datasets.transforms.coherent_mixup import CoherentMixUp
    from tests.datasets.transforms.test_coherent_mixup import _sample

    rng = np.random.RandomState(0)
    img1 = rng.randint(0, 256, (5, 4, 3)).astype(np.uint8)
    img2 = rng.randint(0, 256, (3, 6, 3)).astype(np.uint8)
    a = _sample(img1, [[0, 0, 2, 2]], [1])
    a['mix_results'] = [_sample(img2, [[1, 1, 3, 2], [0, 0, 1, 1]], [2, 3])]
    for _ in range(5):
        out = CoherentMixUp(ratio=0.5)(dict(a, mix_results=list(a['mix_results'])))
        expected = np.zeros((5, 6, 3), np.float64)
        expected[:5, :4] += 0.5 * img1
        expected[:3, :6] += 0.5 * img2
        np.testing.assert_array_equal(out['img'], expected.astype(np.float32))
        assert out['mixup_ratio'] == 0.5
        np.testing.assert_array_equal(out['gt_weights'], np.full(3, 0.5, np.float32))
