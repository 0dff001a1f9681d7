"""The digits datasets read through mmseg, mmdet and mmpretrain dataset classes."""

import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmext.datasets import (
    DIGIT_NAMES,
    SEG_CLASSES,
    DigitsClsDataset,
    DigitsCocoDataset,
    DigitsSegDataset,
)
from tests.damaged_files import truncate


def test_seg_dataset_builds_and_reads(tmp_path):
    from mmseg.datasets import BaseSegDataset
    from mmseg.registry import DATASETS

    init_default_scope('mmseg')
    root = str(tmp_path / 'seg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    dataset = DATASETS.build(
        dict(
            type='mmext.DigitsSegDataset',
            data_root=root,
            split='train',
            num_images=12,
            imbalance_ratio=3.0,
            pipeline=pipeline,
        )
    )
    assert isinstance(dataset, DigitsSegDataset)
    assert len(dataset) == 12
    assert dataset.metainfo['classes'] == SEG_CLASSES
    assert len(dataset.metainfo['palette']) == 11
    assert dataset.build_meta['params']['imbalance_ratio'] == 3.0
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 64, 64)
    labels = sample['data_samples'].gt_sem_seg.data
    assert labels.shape == (1, 64, 64)
    assert set(labels.unique().tolist()) <= set(range(11))
    assert (labels > 0).any()
    # mmseg's own BaseSegDataset reads the same folders
    plain = BaseSegDataset(
        data_root=root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=SEG_CLASSES),
    )
    assert len(plain) == len(dataset)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert plain.get_data_info(i)['img_path'] == info['img_path']
        assert plain.get_data_info(i)['seg_map_path'] == info['seg_map_path']


def test_det_dataset_coco_metric(tmp_path):
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric
    from mmdet.registry import DATASETS

    init_default_scope('mmdet')
    root = str(tmp_path / 'det')
    dataset = DATASETS.build(
        dict(
            type='mmext.DigitsCocoDataset',
            data_root=root,
            split='val',
            num_images=30,
            imbalance_ratio=1.0,
            test_mode=True,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)],
        )
    )
    assert isinstance(dataset, DigitsCocoDataset)
    assert len(dataset) == 30
    assert dataset.metainfo['classes'] == DIGIT_NAMES
    assert dataset.cat_ids == list(range(1, 11))
    ann_file = osp.join(root, 'annotations', 'instances_val.json')
    coco = json.load(open(ann_file))
    assert sum(len(dataset.get_cat_ids(i)) for i in range(len(dataset))) == len(coco['annotations'])
    sample = dataset[0]
    assert sample['img'].shape == (96, 96, 3)
    assert sample['gt_bboxes'].tensor.shape[0] == len(sample['gt_bboxes_labels'])
    # mmdet's own CocoDataset reads the json with the digit classes
    plain = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        metainfo=dict(classes=DIGIT_NAMES),
    )
    assert len(plain) == 30
    # pycocotools (through CocoMetric) scores the ground truth as perfect predictions
    metric = CocoMetric(ann_file=ann_file, metric='bbox', classwise=False)
    metric.dataset_meta = dataset.metainfo
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    samples = []
    for image in coco['images']:
        anns = by_image[image['id']]
        boxes = torch.tensor(
            [
                [
                    a['bbox'][0],
                    a['bbox'][1],
                    a['bbox'][0] + a['bbox'][2],
                    a['bbox'][1] + a['bbox'][3],
                ]
                for a in anns
            ],
            dtype=torch.float32,
        )
        samples.append(
            dict(
                img_id=image['id'],
                ori_shape=(96, 96),
                pred_instances=dict(
                    bboxes=boxes,
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                ),
            )
        )
    metric.process({}, samples)
    results = metric.evaluate(len(samples))
    assert results['coco/bbox_mAP'] == 1.0


def test_cls_dataset_builds_and_reads(tmp_path):
    from mmpretrain.datasets import CustomDataset
    from mmpretrain.registry import DATASETS

    init_default_scope('mmpretrain')
    root = str(tmp_path / 'cls')
    dataset = DATASETS.build(
        dict(
            type='mmext.DigitsClsDataset',
            data_root=root,
            split='train',
            imbalance_ratio=10.0,
            max_per_class=40,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')],
        )
    )
    assert isinstance(dataset, DigitsClsDataset)
    # floor(40 * 10 ** (-k / 9)), worked out by hand
    expected = [40, 30, 23, 18, 14, 11, 8, 6, 5, 4]
    assert len(dataset) == sum(expected)
    assert dataset.metainfo['classes'] == DIGIT_NAMES
    labels = np.array([dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))])
    assert np.bincount(labels, minlength=10).tolist() == expected
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 28, 28)
    # mmpretrain's own CustomDataset reads the class folders (no annotation file)
    plain = CustomDataset(data_root=root, data_prefix='train')
    assert plain.metainfo['classes'] == DIGIT_NAMES
    plain_labels = np.array([d['gt_label'] for d in plain])
    assert np.bincount(plain_labels, minlength=10).tolist() == expected


@pytest.mark.parametrize('num_workers', [0, 1])
def test_truncated_label_map_is_named_in_the_training_error(tmp_path, num_workers):
    """mmseg's LoadAnnotations raises Pillow's 'image file is truncated' without a path."""
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS

    root = str(tmp_path / 'seg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    dataset = DATASETS.build(
        dict(
            type='mmext.DigitsSegDataset',
            data_root=root,
            split='train',
            num_images=12,
            imbalance_ratio=3.0,
            pipeline=pipeline,
        )
    )
    damaged = truncate(dataset.get_data_info(3)['seg_map_path'], 0.6)
    loader = DataLoader(
        dataset, batch_size=2, sampler=[2, 3], num_workers=num_workers, collate_fn=pseudo_collate
    )
    with pytest.raises(OSError) as info:
        next(iter(loader))
    assert f'dataset sample 3: label map {damaged} cannot be decoded' in str(info.value)
    assert dataset[2]['inputs'].shape == (3, 64, 64)  # the intact samples still load


def test_truncated_image_is_named_by_the_cls_dataset(tmp_path):
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS

    dataset = DATASETS.build(
        dict(
            type='mmext.DigitsClsDataset',
            data_root=str(tmp_path / 'cls'),
            split='val',
            imbalance_ratio=1.0,
            max_per_class=2,
            pipeline=[
                dict(type='LoadImageFromFile', imdecode_backend='pillow'),
                dict(type='PackInputs'),
            ],
        )
    )
    damaged = truncate(dataset.get_data_info(5)['img_path'], 0.6)
    with pytest.raises(OSError, match=f'dataset sample 5: image {damaged} cannot be decoded'):
        dataset[5]


@pytest.fixture(scope='module')
def tiny_roots(tmp_path_factory):
    """One data root per digits dataset kind, shared by the tests below (built on first use)."""
    return {kind: str(tmp_path_factory.mktemp(f'empty_{kind}')) for kind in ('seg', 'det', 'cls')}


TINY = {
    'seg': ('mmseg', DigitsSegDataset, dict(num_images=6, imbalance_ratio=1.0)),
    'det': ('mmdet', DigitsCocoDataset, dict(num_images=6, imbalance_ratio=1.0)),
    'cls': ('mmpretrain', DigitsClsDataset, dict(max_per_class=2, imbalance_ratio=1.0)),
}


def _build_tiny(kind, root, **kwargs):
    scope, cls, size = TINY[kind]
    init_default_scope(scope)
    return cls(data_root=root, split='val', pipeline=[], **size, **kwargs)


@pytest.mark.parametrize('kind', ['seg', 'det', 'cls'])
@pytest.mark.parametrize(
    'options',
    [dict(indices=0), dict(indices=[]), dict(indices=[], serialize_data=False)],
    ids=['indices0', 'empty-list', 'empty-list-unserialized'],
)
def test_an_empty_dataset_fails_at_construction_naming_it(tiny_roots, kind, options):
    name = TINY[kind][1].__name__
    assert len(_build_tiny(kind, tiny_roots[kind])) > 0  # the same dataset, not emptied
    with pytest.raises(ValueError, match=rf"{name} \(split 'val', .*dataset is empty"):
        _build_tiny(kind, tiny_roots[kind], **options)
    # lazy_init defers the check to full_init
    lazy = _build_tiny(kind, tiny_roots[kind], lazy_init=True, **options)
    with pytest.raises(ValueError, match='dataset is empty'):
        lazy.full_init()
