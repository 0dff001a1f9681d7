"""mmext.LoadInstanceWeights + mmext.CocoDatasetWithWeights: per-box weights from COCO json."""

import json

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmext.datasets import CocoDatasetWithWeights
from mmext.datasets.transforms.load_instance_weights import LoadInstanceWeights

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='mmext.LoadInstanceWeights'),
    dict(type='mmext.PackDetInputsWithWeights'),
]


def _coco(tmp_path, anns):
    (tmp_path / 'img').mkdir(exist_ok=True)
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((20, 30, 3), np.uint8))
    data = dict(
        images=[dict(id=1, file_name='a.png', height=20, width=30)],
        categories=[dict(id=1, name='x'), dict(id=2, name='y')],
        annotations=[
            dict(
                id=k + 1,
                image_id=1,
                area=a['bbox'][2] * a['bbox'][3],
                iscrowd=a.pop('iscrowd', 0),
                **a,
            )
            for k, a in enumerate(anns)
        ],
    )
    (tmp_path / 'ann.json').write_text(json.dumps(data))
    init_default_scope('mmdet')
    return CocoDatasetWithWeights(
        data_root=str(tmp_path),
        ann_file='ann.json',
        data_prefix=dict(img='img/'),
        metainfo=dict(classes=('x', 'y')),
        pipeline=PIPELINE,
        filter_cfg=None,
    )


def test_weights_reach_the_packed_instances(tmp_path):
    dataset = _coco(
        tmp_path,
        [
            dict(bbox=[0, 0, 5, 5], category_id=1, weight=0.25),
            dict(bbox=[1, 1, 0.5, 5], category_id=1, weight=9.0),  # w < 1: dropped by mmdet
            dict(bbox=[2, 2, 6, 6], category_id=2),  # no weight: default 1
            dict(bbox=[3, 3, 4, 4], category_id=2, weight=0.5, iscrowd=1),  # ignored box
            dict(bbox=[4, 4, 8, 8], category_id=1, weight=2.0),
        ],
    )
    assert [i.get('weight') for i in dataset.get_data_info(0)['instances']] == [
        0.25,
        None,
        0.5,
        2.0,
    ]
    sample = dataset[0]['data_samples']
    np.testing.assert_array_equal(sample.gt_instances.weights.numpy(), [0.25, 1.0, 2.0])
    np.testing.assert_array_equal(sample.gt_instances.labels.numpy(), [0, 1, 0])
    np.testing.assert_array_equal(sample.ignored_instances.weights.numpy(), [0.5])


def test_coherent_mixup_multiplies_the_loaded_weights():
    from mmdet.structures.bbox import HorizontalBoxes

    from mmext.datasets.transforms.coherent_mixup import CoherentMixUp

    def sample(w, value):
        res = dict(
            img=np.full((4, 4, 3), value, np.uint8),
            img_shape=(4, 4),
            ori_shape=(4, 4),
            gt_bboxes=HorizontalBoxes(np.array([[0, 0, 2, 2]], np.float32)),
            gt_bboxes_labels=np.array([0]),
            gt_ignore_flags=np.zeros(1, bool),
            instances=[dict(weight=w)],
        )
        return LoadInstanceWeights()(res)

    a, b = sample(0.5, 10), sample(3.0, 20)
    a['mix_results'] = [b]
    out = CoherentMixUp(ratio=0.4)(a)
    np.testing.assert_allclose(out['gt_weights'], [0.5 * 0.4, 3.0 * 0.6], rtol=1e-6)


def test_bad_or_missing_weights_fail_naming_the_image(tmp_path):
    dataset = _coco(tmp_path, [dict(bbox=[0, 0, 5, 5], category_id=1, weight=-1.0)])
    with pytest.raises(ValueError, match='a.png.*finite and >= 0'):
        dataset[0]
    strict = LoadInstanceWeights(default=None)
    with pytest.raises(KeyError, match="instance 0 of x.png has no 'weight'"):
        strict(
            dict(
                img_path='x.png',
                instances=[dict(bbox=[0, 0, 1, 1])],
                gt_bboxes=np.zeros((1, 4), np.float32),
            )
        )
    with pytest.raises(KeyError, match='reads results\\["instances"\\]'):
        LoadInstanceWeights()(dict(img=np.zeros((2, 2))))
    assert repr(LoadInstanceWeights('w', 2)) == "LoadInstanceWeights(key='w', default=2.0)"


@pytest.mark.parametrize('bad', ['abc', None, [1], '0.5', True, False])
def test_a_weight_that_is_not_a_number_fails_naming_image_annotation_and_field(tmp_path, bad):
    # the first annotation (id 1) is valid, the second (id 2) holds the bad value
    dataset = _coco(
        tmp_path,
        [
            dict(bbox=[0, 0, 5, 5], category_id=1, weight=0.5),
            dict(bbox=[2, 2, 6, 6], category_id=2, weight=bad),
        ],
    )
    with pytest.raises(ValueError, match=r"a\.png \(image id 1\), annotation id 2: field 'weight'"):
        dataset[0]
    # the transform alone: without ann_id the instance's index is named
    res = dict(
        img_path='x.png',
        img_id=7,
        instances=[dict(w=1.0), dict(w=bad)],
        gt_bboxes=np.zeros((2, 4), np.float32),
    )
    with pytest.raises(ValueError, match=r"x\.png \(image id 7\), instance 1 .*field 'w'"):
        LoadInstanceWeights(key='w')(res)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -0.5])
def test_non_finite_and_negative_weights_stay_rejected(tmp_path, bad):
    dataset = _coco(tmp_path, [dict(bbox=[0, 0, 5, 5], category_id=1, weight=bad)])
    with pytest.raises(ValueError, match=r"id 1: field 'weight' must be finite and >= 0"):
        dataset[0]


def test_numeric_weights_of_any_number_type_are_read():
    res = dict(
        instances=[dict(weight=2), dict(weight=np.float64(0.25)), dict(weight=np.int64(0))],
        gt_bboxes=np.zeros((3, 4), np.float32),
    )
    np.testing.assert_array_equal(LoadInstanceWeights()(res)['gt_weights'], [2.0, 0.25, 0.0])
