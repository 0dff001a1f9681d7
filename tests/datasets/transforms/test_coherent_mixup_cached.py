"""mmext.CoherentMixUp(use_cached=True): the paper's mixup in a plain dataset pipeline."""

import numpy as np
import pytest
from mmdet.datasets import MultiImageMixDataset
from mmdet.engine.hooks import PipelineSwitchHook
from mmengine.dataset import BaseDataset, pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmext.datasets.transforms.coherent_mixup import CoherentMixUp

SIZES = [(6, 9), (10, 4), (7, 7), (5, 12), (11, 8)]  # (h, w) of image i; pixel value 10 * (i + 1)


class _ConstDataset(BaseDataset):
    """Image i is constant 10 * (i + 1), has one box [0, 0, 2, 2] labelled i."""

    def __init__(self, pipeline, sizes=SIZES):
        self._sizes = sizes
        super().__init__(serialize_data=False, pipeline=pipeline)

    def load_data_list(self):
        from mmdet.structures.bbox import HorizontalBoxes

        out = []
        for i, (h, w) in enumerate(self._sizes):
            out.append(
                dict(
                    img=np.full((h, w, 3), 10 * (i + 1), np.uint8),
                    img_shape=(h, w),
                    ori_shape=(h, w),
                    img_id=i,
                    gt_bboxes=HorizontalBoxes(np.array([[0, 0, 2, 2]], np.float32)),
                    gt_bboxes_labels=np.array([i], np.int64),
                    gt_ignore_flags=np.zeros(1, bool),
                )
            )
        return out


def _pipeline(**kw):
    return [
        dict(type='mmext.CoherentMixUp', use_cached=True, **kw),
        dict(type='mmext.PackDetInputsWithWeights'),
    ]


def _check_mixed(packed, own, lam):
    """Hand-computed geometry: max-H x max-W canvas, both images at the top-left corner."""
    sample = packed['data_samples']
    labels = sample.gt_instances.labels.tolist()
    assert labels[0] == own
    if len(labels) == 1:  # not mixed
        assert sample.metainfo['mixup_ratio'] == 1.0
        return None
    partner = labels[1]
    assert partner != own  # never the image itself
    (h1, w1), (h2, w2) = SIZES[own], SIZES[partner]
    v1, v2 = 10.0 * (own + 1), 10.0 * (partner + 1)
    img = packed['inputs'].numpy().transpose(1, 2, 0)  # CHW -> HWC
    assert img.shape[:2] == (max(h1, h2), max(w1, w2))
    expect = np.zeros(img.shape[:2], np.float32)
    expect[:h1, :w1] += lam * v1
    expect[:h2, :w2] += (1 - lam) * v2
    np.testing.assert_allclose(img[..., 0], expect, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sample.gt_instances.weights.numpy(), [lam, 1 - lam], rtol=1e-6)
    return partner


def test_plain_pipeline_mixes_with_cached_partners():
    init_default_scope('mmdet')
    dataset = _ConstDataset(_pipeline(ratio=0.3, max_cached_images=3, random_pop=False))
    np.random.seed(0)
    order = [0, 1, 2, 3, 4, 0, 2, 4, 1, 3]
    seen = []
    for idx in order:
        partner = _check_mixed(dataset[idx], idx, 0.3)
        if not seen:
            assert partner is None  # first sample: nothing cached yet
        else:  # a partner from the last 3 samples (FIFO cache, the current one included)
            assert partner in seen[-2:]
        seen.append(idx)


def test_same_image_in_cache_is_never_drawn():
    init_default_scope('mmdet')
    dataset = _ConstDataset(_pipeline(ratio=0.5, max_cached_images=4))
    for _ in range(3):  # only copies of image 2 cached: no partner
        assert _check_mixed(dataset[2], 2, 0.5) is None
    assert _check_mixed(dataset[0], 0, 0.5) == 2


def test_wrapper_mode_never_mixes_an_image_with_itself():
    """MultiImageMixDataset's get_indexes cannot see the current index: a self-draw is redrawn."""
    init_default_scope('mmdet')
    inner = _ConstDataset([], sizes=SIZES[:2])
    dataset = MultiImageMixDataset(
        dataset=inner,
        pipeline=[
            dict(type='mmext.CoherentMixUp', ratio=0.25),
            dict(type='mmext.PackDetInputsWithWeights'),
        ],
    )
    np.random.seed(1)
    for _ in range(20):  # with 2 images, half of the draws hit the sample itself
        sample = dataset[0]['data_samples']
        assert sample.gt_instances.labels.tolist() == [0, 1]


def test_beta_ratio_moments_in_cached_mode():
    init_default_scope('mmdet')
    dataset = _ConstDataset(_pipeline(alpha=1.5, beta=1.5, max_cached_images=5))
    np.random.seed(3)
    lams = [dataset[i % 5]['data_samples'].metainfo['mixup_ratio'] for i in range(1, 1201)]
    lams = np.array(lams[1:])
    # Beta(1.5, 1.5): mean 1/2, variance ab / ((a + b)^2 (a + b + 1)) = 2.25 / 36
    assert abs(lams.mean() - 0.5) < 0.025  # 3.5 standard errors
    assert abs(lams.var() - 2.25 / 36) < 0.008


def test_pipeline_switch_hook_turns_cached_mixup_off_in_a_dataloader():
    init_default_scope('mmdet')
    dataset = _ConstDataset(_pipeline(ratio=0.5))
    loader = DataLoader(dataset, batch_size=5, shuffle=False, collate_fn=pseudo_collate)
    hook = PipelineSwitchHook(
        switch_epoch=2, switch_pipeline=[dict(type='mmext.PackDetInputsWithWeights')]
    )
    runner = type(
        'R',
        (),
        dict(epoch=0, train_dataloader=loader, logger=type('L', (), dict(info=lambda *a: None))()),
    )()
    mixed = []
    for epoch in range(3):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        batch = next(iter(loader))
        mixed.append(
            sum(
                'mixup_ratio' in s.metainfo and s.metainfo['mixup_ratio'] < 1
                for s in batch['data_samples']
            )
        )
    assert mixed[:2] == [4, 5] and mixed[2] == 0  # epoch 0: the very first has no partner


def test_bad_cache_size_and_repr():
    with pytest.raises(ValueError, match='max_cached_images'):
        CoherentMixUp(use_cached=True, max_cached_images=1)
    assert repr(CoherentMixUp(use_cached=True, max_cached_images=7)) == (
        'CoherentMixUp(alpha=1.5, beta=1.5, ratio=None, prob=1.0, use_cached=True, '
        'max_cached_images=7, random_pop=True)'
    )
