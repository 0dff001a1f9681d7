"""Tests of the shared per-image class index."""
import os
import os.path as osp
import time

import numpy as np
import pytest
from PIL import Image

from mmext.datasets.samplers import class_index as ci_mod
from mmext.datasets.samplers.class_index import ClassIndex, build_class_index


def test_class_index_api():
    index = ClassIndex.from_lists([[3, 1, 1], [], [0, 2], [5]], num_classes=6)
    assert len(index) == 4 and index.num_classes == 6
    assert [r.tolist() for r in index.image_classes] == [[1, 3], [], [0, 2], [5]]
    assert index.images_of_class(1).tolist() == [0]
    assert index.images_of_class(4).tolist() == []
    assert index.classes_present().tolist() == [0, 1, 2, 3, 5]
    assert index.class_counts().tolist() == [1, 1, 1, 1, 0, 1]
    filtered = index.without([1, 5])
    assert [r.tolist() for r in filtered.image_classes] == [[3], [], [0, 2], []]
    with pytest.raises(ValueError, match='class ids'):
        ClassIndex.from_lists([[7]], num_classes=3)


def _write_seg_dataset(root, maps):
    os.makedirs(osp.join(root, 'img'), exist_ok=True)
    os.makedirs(osp.join(root, 'ann'), exist_ok=True)
    for i, arr in enumerate(maps):
        Image.fromarray(np.zeros(arr.shape + (3, ), np.uint8)).save(
            osp.join(root, 'img', f'{i:03d}.jpg'))
        Image.fromarray(arr.astype(np.uint8)).save(osp.join(root, 'ann', f'{i:03d}.png'))


def _seg_dataset(root, **kwargs):
    pytest.importorskip('mmseg')
    from mmseg.datasets import BaseSegDataset
    return BaseSegDataset(
        data_root=str(root), data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.jpg', seg_map_suffix='.png',
        metainfo=dict(classes=('background', 'a', 'b', 'c')), pipeline=[], **kwargs)


MAPS = [
    np.array([[0, 1], [1, 255]]),
    np.array([[2, 2], [2, 2]]),
    np.array([[0, 3], [255, 255]]),
    np.array([[255, 255], [255, 255]]),
]


def test_seg_index_values_and_options(tmp_path):
    _write_seg_dataset(tmp_path / 'd', MAPS)
    ds = _seg_dataset(tmp_path / 'd')
    index = build_class_index(ds, cache_dir=False, progress=False)
    # expected by hand from MAPS (255 is ignore)
    assert [r.tolist() for r in index.image_classes] == [[0, 1], [2], [0, 3], []]
    no_bg = build_class_index(ds, cache_dir=False, exclude_classes=('background', ),
                              progress=False)
    assert [r.tolist() for r in no_bg.image_classes] == [[1], [2], [3], []]
    with pytest.raises(ValueError, match='unknown class name'):
        build_class_index(ds, cache_dir=False, exclude_classes=('cat', ))
    # reduce_zero_label: 0 -> ignored, v -> v - 1 (as mmseg's LoadAnnotations)
    rzl = _seg_dataset(tmp_path / 'd', reduce_zero_label=True)
    index = build_class_index(rzl, cache_dir=False, progress=False)
    assert [r.tolist() for r in index.image_classes] == [[0], [1], [2], []]


def test_seg_index_matches_mmseg_load_annotations(tmp_path):
    pytest.importorskip('mmseg')
    from mmseg.datasets.transforms import LoadAnnotations
    rng = np.random.default_rng(0)
    maps = [rng.choice([0, 1, 2, 3, 255], size=(6, 5)) for _ in range(5)]
    _write_seg_dataset(tmp_path / 'd', maps)
    for rzl in (False, True):
        ds = _seg_dataset(tmp_path / 'd', reduce_zero_label=rzl)
        index = build_class_index(ds, cache_dir=False, progress=False)
        load = LoadAnnotations(reduce_zero_label=None)
        for i in range(len(ds)):
            gt = load(ds.get_data_info(i))['gt_seg_map']
            expected = sorted(set(np.unique(gt).tolist()) - {255})
            assert index.image_classes[i].tolist() == expected


def test_seg_index_disk_cache(tmp_path, monkeypatch):
    _write_seg_dataset(tmp_path / 'd', MAPS)
    ds = _seg_dataset(tmp_path / 'd')
    cache = str(tmp_path / 'cache')
    first = build_class_index(ds, cache_dir=cache, progress=False)
    assert len(os.listdir(cache)) == 1

    def no_decode(*args, **kwargs):
        raise AssertionError('the cached index should have been loaded')

    monkeypatch.setattr(ci_mod, 'label_map_classes', no_decode)
    t0 = time.perf_counter()
    again = build_class_index(ds, cache_dir=cache, progress=False)
    assert time.perf_counter() - t0 < 1.0
    assert [r.tolist() for r in again.image_classes] == \
        [r.tolist() for r in first.image_classes]
    monkeypatch.undo()
    # a changed label map changes the key: the index is rebuilt with the new content
    path = osp.join(tmp_path, 'd', 'ann', '001.png')
    Image.fromarray(np.array([[3, 3], [1, 1]], np.uint8)).save(path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = build_class_index(ds, cache_dir=cache, progress=False)
    assert changed.image_classes[1].tolist() == [1, 3]
    assert len(os.listdir(cache)) == 2


def test_parallel_build_equals_serial(tmp_path):
    rng = np.random.default_rng(1)
    maps = [rng.choice([0, 1, 2, 3, 255], size=(4, 4), p=[.4, .3, .1, .1, .1])
            for _ in range(80)]
    _write_seg_dataset(tmp_path / 'd', maps)
    ds = _seg_dataset(tmp_path / 'd')
    serial = build_class_index(ds, cache_dir=False, num_workers=1, progress=False)
    parallel = build_class_index(ds, cache_dir=False, num_workers=2, progress=True)
    assert np.array_equal(serial.classes, parallel.classes)
    for arr, row in zip(maps, serial.image_classes):
        assert row.tolist() == sorted(set(np.unique(arr).tolist()) - {255})


def test_concat_dataset_as_in_voc_aug(tmp_path):
    """mmseg's VOC-aug config trains on a ConcatDataset (train + aug): no get_cat_ids, the
    label maps of both parts are indexed in concatenation order."""
    pytest.importorskip('mmseg')
    from mmengine.dataset import ConcatDataset
    extra = [np.array([[3, 3], [0, 255]]), np.array([[1, 2], [2, 2]])]
    _write_seg_dataset(tmp_path / 'a', MAPS)
    _write_seg_dataset(tmp_path / 'b', extra)
    ds = ConcatDataset([_seg_dataset(tmp_path / 'a'), _seg_dataset(tmp_path / 'b')])
    index = build_class_index(ds, cache_dir=str(tmp_path / 'cache'), progress=False)
    # by hand from MAPS and extra (255 ignored)
    assert [r.tolist() for r in index.image_classes] == \
        [[0, 1], [2], [0, 3], [], [0, 3], [1, 2]]
    again = build_class_index(ds, cache_dir=str(tmp_path / 'cache'), progress=False)
    assert np.array_equal(again.classes, index.classes)
    assert len(os.listdir(tmp_path / 'cache')) == 1


def test_cat_ids_and_errors(tmp_path):
    pytest.importorskip('mmengine')
    from mmengine.dataset import BaseDataset

    class Det(BaseDataset):
        METAINFO = dict(classes=('a', 'b', 'c'))

        def load_data_list(self):
            return [dict(labels=[2, 0, 2]), dict(labels=[]), dict(labels=[1])]

        def get_cat_ids(self, idx):
            return self.get_data_info(idx)['labels']

    index = build_class_index(Det(serialize_data=False), progress=False)
    assert [r.tolist() for r in index.image_classes] == [[0, 2], [], [1]]

    class Plain(Det):
        get_cat_ids = BaseDataset.get_cat_ids

    with pytest.raises(TypeError, match='get_cat_ids'):
        build_class_index(Plain(serialize_data=False))
    _write_seg_dataset(tmp_path / 'd', [np.array([[0, 9]])])
    with pytest.raises(ValueError, match='num_classes=4'):
        build_class_index(_seg_dataset(tmp_path / 'd'), cache_dir=False, progress=False)


def test_mmdet_coco_dataset(tmp_path):
    pytest.importorskip('mmdet')
    import json
    from mmdet.datasets import CocoDataset
    images = [dict(id=i, file_name=f'{i}.jpg', width=32, height=32) for i in range(1, 4)]
    anns = [dict(id=1, image_id=1, category_id=7, bbox=[0, 0, 5, 5], area=25, iscrowd=0),
            dict(id=2, image_id=1, category_id=3, bbox=[5, 5, 5, 5], area=25, iscrowd=0),
            dict(id=3, image_id=2, category_id=7, bbox=[1, 1, 4, 4], area=16, iscrowd=0),
            dict(id=4, image_id=3, category_id=5, bbox=[2, 2, 6, 6], area=36, iscrowd=0)]
    cats = [dict(id=3, name='a'), dict(id=5, name='b'), dict(id=7, name='c')]
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    ds = CocoDataset(ann_file=str(ann_file), data_root=str(tmp_path), pipeline=[],
                     data_prefix=dict(img=''),
                     metainfo=dict(classes=('a', 'b', 'c')))
    index = build_class_index(ds, progress=False)
    # COCO category ids 3, 5, 7 are labels 0, 1, 2
    expected = {'1.jpg': [0, 2], '2.jpg': [2], '3.jpg': [1]}
    for i in range(len(ds)):
        name = osp.basename(ds.get_data_info(i)['img_path'])
        assert index.image_classes[i].tolist() == expected[name]
