"""Tests of mmext.CoherentMixUp and mmext.KeepInstanceWeights (Bag of Freebies Sec. 3.1)."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from mmdet.datasets import MultiImageMixDataset
from mmdet.engine.hooks import PipelineSwitchHook
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.dataset import BaseDataset
from mmengine.registry import init_default_scope

from mmext.datasets.transforms import coherent_mixup  # noqa: F401
from mmext.datasets.transforms.coherent_mixup import CoherentMixUp, KeepInstanceWeights
from mmext.registry import TRANSFORMS


def _sample(img, boxes, labels, ignore=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return dict(
        img=img,
        img_shape=img.shape[:2],
        ori_shape=img.shape[:2],
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=np.asarray(labels, dtype=np.int64),
        gt_ignore_flags=np.zeros(len(boxes), bool) if ignore is None else np.asarray(ignore),
    )


def _pair(h1=2, w1=3, h2=3, w2=2, v1=100, v2=50):
    a = _sample(
        np.full((h1, w1, 3), v1, np.uint8),
        [[0, 0, 2, 1], [1, 0, 3, 2]],
        [1, 4],
        ignore=[False, True],
    )
    b = _sample(np.full((h2, w2, 3), v2, np.uint8), [[0, 1, 2, 3]], [7])
    a['mix_results'] = [b]
    return a, b


def test_pixels_hand_checked():
    a, _ = _pair()
    out = CoherentMixUp(ratio=0.25)(a)
    # canvas 3x3: overlap [:2, :2] = .25*100 + .75*50; a only [:2, 2] = .25*100;
    # b only [2, :2] = .75*50; bottom-right corner zero padding
    expected = np.array([[62.5, 62.5, 25.0], [62.5, 62.5, 25.0], [37.5, 37.5, 0.0]])
    assert out['img'].dtype == np.float32
    assert out['img'].shape == (3, 3, 3)
    for c in range(3):
        np.testing.assert_array_equal(out['img'][..., c], expected)
    assert out['img_shape'] == (3, 3) and out['ori_shape'] == (3, 3)
    assert out['mixup_ratio'] == 0.25


def test_pixels_random_images_and_regions():
    rng = np.random.RandomState(3)
    img1 = rng.randint(0, 256, (7, 5, 3)).astype(np.uint8)
    img2 = rng.randint(0, 256, (4, 9, 3)).astype(np.uint8)
    a = _sample(img1, [[0, 0, 4, 4]], [0])
    a['mix_results'] = [_sample(img2, [[1, 1, 8, 3]], [2])]
    np.random.seed(11)
    out = CoherentMixUp(alpha=1.5, beta=1.5)(a)
    lam = out['mixup_ratio']
    np.random.seed(11)
    assert lam == np.random.beta(1.5, 1.5)  # the drawn ratio is the one kept
    mix = out['img'].astype(np.float64)
    assert mix.shape == (7, 9, 3)
    ref1, ref2 = img1.astype(np.float64), img2.astype(np.float64)
    np.testing.assert_allclose(mix[:4, :5], lam * ref1[:4] + (1 - lam) * ref2[:, :5], rtol=1e-6)
    np.testing.assert_allclose(mix[4:, :5], lam * ref1[4:], rtol=1e-6)
    np.testing.assert_allclose(mix[:4, 5:], (1 - lam) * ref2[:, 5:], rtol=1e-6)
    assert np.all(mix[4:, 5:] == 0)


def test_instances_concatenated_and_weighted():
    a, b = _pair()
    boxes1, boxes2 = a['gt_bboxes'].tensor.clone(), b['gt_bboxes'].tensor.clone()
    out = CoherentMixUp(ratio=0.3)(a)
    assert isinstance(out['gt_bboxes'], HorizontalBoxes)
    np.testing.assert_array_equal(
        out['gt_bboxes'].numpy(), np.concatenate([boxes1.numpy(), boxes2.numpy()])
    )
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [1, 4, 7])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, True, False])
    assert out['gt_weights'].dtype == np.float32
    np.testing.assert_allclose(out['gt_weights'], [0.3, 0.3, 0.7], rtol=1e-6)


def test_earlier_weights_are_multiplied_and_numpy_boxes():
    a, b = _pair()
    a['gt_weights'] = np.array([0.5, 0.2], np.float32)
    b['gt_weights'] = np.array([0.4], np.float32)
    b['gt_bboxes'] = b['gt_bboxes'].numpy()  # box_type=None pipelines give arrays
    del b['gt_ignore_flags']
    out = CoherentMixUp(ratio=0.6)(a)
    np.testing.assert_allclose(out['gt_weights'], [0.3, 0.12, 0.16], rtol=1e-6)
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, True, False])
    assert len(out['gt_bboxes']) == 3


@pytest.mark.parametrize('alpha,beta', [(1.5, 1.5), (1.0, 1.0), (2.0, 5.0)])
def test_ratio_statistics_match_beta(alpha, beta):
    np.random.seed(0)
    transform = CoherentMixUp(alpha=alpha, beta=beta)
    draws = []
    for _ in range(3000):
        a, _ = _pair(1, 1, 1, 1)
        draws.append(transform(a)['mixup_ratio'])
    draws = np.array(draws)
    mean = alpha / (alpha + beta)
    var = alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / len(draws))
    assert abs(draws.var() - var) < 0.1 * var
    assert draws.min() >= 0 and draws.max() <= 1


def test_prob_zero_is_identity_with_ones():
    a, _ = _pair()
    ref = copy.deepcopy(a)
    out = CoherentMixUp(prob=0.0)(a)
    assert out['img'].dtype == np.uint8
    np.testing.assert_array_equal(out['img'], ref['img'])
    np.testing.assert_array_equal(out['gt_bboxes'].numpy(), ref['gt_bboxes'].numpy())
    np.testing.assert_array_equal(out['gt_bboxes_labels'], ref['gt_bboxes_labels'])
    np.testing.assert_array_equal(out['gt_weights'], np.ones(2, np.float32))
    assert out['mixup_ratio'] == 1.0 and out['img_shape'] == (2, 3)


def test_prob_applies_with_that_frequency():
    np.random.seed(1)
    transform = CoherentMixUp(prob=0.3)
    mixed = [transform(_pair(1, 1, 1, 1)[0])['img'].dtype == np.float32 for _ in range(2000)]
    assert abs(np.mean(mixed) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 2000)


def test_empty_boxes():
    a = _sample(np.ones((4, 4, 3), np.uint8), np.zeros((0, 4)), [])
    b = _sample(np.ones((2, 6, 3), np.uint8), np.zeros((0, 4)), [])
    a['mix_results'] = [b]
    out = CoherentMixUp(ratio=0.5)(a)
    assert out['gt_bboxes'].shape == (0, 4) and out['gt_weights'].shape == (0,)
    assert out['gt_bboxes_labels'].shape == (0,) and out['img'].shape == (4, 6, 3)
    a2, b2 = _pair()
    a2['mix_results'] = [b]
    out = CoherentMixUp(ratio=0.5)(a2)  # partner without objects
    np.testing.assert_allclose(out['gt_weights'], [0.5, 0.5])
    b2['mix_results'] = [a]
    out = CoherentMixUp(ratio=0.25)(b2)  # empty partner: only the first image's objects
    np.testing.assert_allclose(out['gt_weights'], [0.25])


def test_masks_padded_and_concatenated():
    a, b = _pair()
    m1 = np.zeros((2, 2, 3), np.uint8)
    m1[0, 0, 0] = 1
    m2 = np.ones((1, 3, 2), np.uint8)
    a['gt_masks'], b['gt_masks'] = BitmapMasks(m1, 2, 3), BitmapMasks(m2, 3, 2)
    out = CoherentMixUp(ratio=0.5)(a)
    masks = out['gt_masks'].masks
    assert masks.shape == (3, 3, 3)
    assert masks[0].sum() == 1 and masks[0, 0, 0] == 1 and masks[1].sum() == 0
    np.testing.assert_array_equal(masks[2], [[1, 1, 0], [1, 1, 0], [1, 1, 0]])
    a, b = _pair()
    a['gt_masks'] = BitmapMasks(m1, 2, 3)
    with pytest.raises(ValueError, match='gt_masks'):
        CoherentMixUp(ratio=0.5)(a)


def test_scale_factor_gives_consistent_ori_shape():
    a, _ = _pair(h1=2, w1=3, h2=4, w2=6)
    a['scale_factor'] = (0.5, 0.25)
    out = CoherentMixUp(ratio=0.5)(a)
    assert out['img_shape'] == (4, 6) and out['ori_shape'] == (16, 12)


def test_bad_arguments_and_inputs():
    for kwargs in (dict(alpha=0), dict(beta=-1), dict(ratio=1.5), dict(prob=2)):
        with pytest.raises(ValueError):
            CoherentMixUp(**kwargs)
    a, _ = _pair()
    del a['mix_results']
    with pytest.raises(ValueError, match='MultiImageMixDataset'):
        CoherentMixUp()(a)
    a, b = _pair()
    b['img'] = np.zeros((3, 2), np.uint8)
    with pytest.raises(ValueError, match='channels'):
        CoherentMixUp()(a)
    a, _ = _pair()
    a['gt_weights'] = np.ones(5, np.float32)
    with pytest.raises(ValueError, match='KeepInstanceWeights'):
        CoherentMixUp()(a)
    a, _ = _pair()
    a['gt_weights'] = np.array([1.0, np.nan], np.float32)
    with pytest.raises(ValueError, match='finite'):
        CoherentMixUp()(a)


def test_missing_image_names_the_keys_and_the_usual_cause():
    """Before the loading transforms (e.g. LoadImageFromFile in MultiImageMixDataset's own
    pipeline after CoherentMixUp) the sample only holds paths; a bare KeyError 'img' said
    nothing about the fix."""
    unloaded = dict(img_path='a.png', img_id=0, mix_results=[dict(img_path='b.png')])
    for prob in (1.0, 0.0):  # also when this sample is not mixed
        with pytest.raises(KeyError) as info:
            CoherentMixUp(prob=prob)(copy.deepcopy(unloaded))
        message = info.value.args[0]
        assert 'CoherentMixUp needs the loaded image results["img"]' in message
        assert (
            "in the sample, which has only the keys ['img_id', 'img_path', "
            "'mix_results']" in message
        )
        assert 'runs before the loading transforms' in message
        assert 'LoadImageFromFile' in message and 'MultiImageMixDataset' in message
    a, b = _pair()
    del b['img']
    with pytest.raises(KeyError, match=r'in its partner results\["mix_results"\]\[0\]'):
        CoherentMixUp()(a)


def test_repr_and_registry():
    init_default_scope('mmdet')
    transform = TRANSFORMS.build(dict(type='mmext.CoherentMixUp', alpha=1.0, beta=1.0))
    assert isinstance(transform, CoherentMixUp)
    assert repr(transform) == 'CoherentMixUp(alpha=1.0, beta=1.0, ratio=None, prob=1.0)'


class _ToyDetDataset(BaseDataset):
    """Synthetic images with boxes whose label encodes the image index."""

    def __init__(self, num=6, **kwargs):
        self._num = num
        super().__init__(serialize_data=False, pipeline=[], **kwargs)

    def load_data_list(self):
        rng = np.random.RandomState(0)
        data = []
        for i in range(self._num):
            h, w = 8 + i, 10 + 2 * i
            nbox = i % 3  # some images have no object
            boxes = [[j, j, j + 4, j + 3] for j in range(nbox)]
            info = _sample(rng.randint(0, 255, (h, w, 3)).astype(np.uint8), boxes, [i] * nbox)
            info['img_id'] = i
            data.append(info)
        return data


def _mix_dataset(pipeline):
    init_default_scope('mmdet')
    return MultiImageMixDataset(dataset=_ToyDetDataset(), pipeline=pipeline)


def test_inside_multi_image_mix_dataset():
    dataset = _mix_dataset(
        [
            dict(type='mmext.CoherentMixUp', alpha=1.5, beta=1.5),
            dict(type='mmext.PackDetInputsWithWeights'),
        ]
    )
    toy = dataset.dataset
    np.random.seed(5)
    for idx in range(len(dataset)):
        packed = dataset[idx]
        sample = packed['data_samples']
        lam = sample.metainfo['mixup_ratio']
        labels = sample.gt_instances.labels.numpy()
        weights = sample.gt_instances.weights.numpy()
        own = labels == idx
        # first image's objects come first with weight lam, the partner's with 1 - lam
        assert own.sum() == idx % 3 and np.all(own[: idx % 3])
        np.testing.assert_allclose(weights[: idx % 3], lam, rtol=1e-6)
        np.testing.assert_allclose(weights[idx % 3 :], 1 - lam, rtol=1e-6)
        h, w = toy[idx]['img'].shape[:2]
        assert packed['inputs'].shape[1] >= h and packed['inputs'].shape[2] >= w
        assert packed['inputs'].dtype.is_floating_point


def test_pipeline_switch_hook_turns_mixup_off():
    """The config snippet of the README: mixup off for the last epochs via PipelineSwitchHook."""
    max_epochs, num_last_epochs = 5, 2
    no_mixup_pipeline = [dict(type='mmext.PackDetInputsWithWeights')]
    dataset = _mix_dataset([dict(type='mmext.CoherentMixUp'), *no_mixup_pipeline])
    hook = PipelineSwitchHook(
        switch_epoch=max_epochs - num_last_epochs, switch_pipeline=no_mixup_pipeline
    )
    runner = SimpleNamespace(
        epoch=0,
        train_dataloader=SimpleNamespace(dataset=dataset),
        logger=SimpleNamespace(info=lambda *args: None),
    )
    mixed = []
    for epoch in range(max_epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        sample = dataset[1]['data_samples']
        mixed.append('mixup_ratio' in sample.metainfo)
        if not mixed[-1]:
            np.testing.assert_array_equal(sample.gt_instances.weights.numpy(), np.ones(1))
            np.testing.assert_array_equal(sample.gt_instances.labels.numpy(), [1])
    assert mixed == [True, True, True, False, False]


def test_gluoncv_order_pipeline_keeps_weights_aligned():
    """Mix first, then crop / resize / flip (GluonCV order, README snippet): after the crop the
    surviving objects keep their own weight (labels encode the source image index)."""
    dataset = _mix_dataset(
        [
            dict(type='mmext.CoherentMixUp'),
            dict(
                type='mmext.KeepInstanceWeights',
                transforms=[dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3), min_crop_size=0.5)],
            ),
            dict(type='RandomResize', scale=[(32, 32), (48, 48)], keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='mmext.PackDetInputsWithWeights'),
        ]
    )
    np.random.seed(2)
    mixup = dataset.pipeline[0]
    checked = 0
    for shift in (1, 2, 4):
        for idx in range(len(dataset)):
            partner = (idx + shift) % len(dataset)
            mixup.get_indexes = lambda _: partner  # a known partner (labels = image index)
            sample = dataset[idx]['data_samples']
            lam = sample.metainfo['mixup_ratio']
            labels = sample.gt_instances.labels.numpy()
            weights = sample.gt_instances.weights.numpy()
            assert len(weights) == len(sample.gt_instances.bboxes)
            assert set(labels) <= {idx, partner}
            np.testing.assert_allclose(weights, np.where(labels == idx, lam, 1 - lam), rtol=1e-6)
            checked += len(weights)
    assert checked > 10


def test_keep_instance_weights_follows_crops_and_filters():
    init_default_scope('mmdet')
    a = _sample(
        np.zeros((20, 20, 3), np.uint8),
        [[0, 0, 1, 1], [2, 2, 12, 12], [5, 5, 6, 6], [3, 3, 15, 15]],
        [0, 1, 2, 3],
    )
    a['gt_weights'] = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    wrapper = TRANSFORMS.build(
        dict(
            type='mmext.KeepInstanceWeights',
            transforms=[dict(type='FilterAnnotations', min_gt_bbox_wh=(2, 2))],
        )
    )
    out = wrapper(copy.deepcopy(a))
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [1, 3])
    np.testing.assert_allclose(out['gt_weights'], [0.2, 0.4])
    assert 'KeepInstanceWeights' in repr(wrapper)
    # without gt_weights the wrapper is transparent
    b = copy.deepcopy(a)
    del b['gt_weights']
    out = wrapper(b)
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [1, 3])

    # a wrapped transform that creates objects is refused
    def _add_object(results):
        results['gt_bboxes'] = HorizontalBoxes.cat(
            [results['gt_bboxes'], HorizontalBoxes(np.zeros((1, 4), np.float32))]
        )
        results['gt_bboxes_labels'] = np.append(results['gt_bboxes_labels'], 7)
        return results

    with pytest.raises(ValueError, match='created objects'):
        KeepInstanceWeights([_add_object])(copy.deepcopy(a))
    with pytest.raises(ValueError, match='non-empty'):
        KeepInstanceWeights([])
