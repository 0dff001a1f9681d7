"""Tests of the shared per-image class index: building, caching, distributed building."""

import json
import os
import os.path as osp
import sys
import time
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from mmext.datasets.samplers import class_index as ci_mod
from mmext.datasets.samplers.class_index import build_class_index
from tests.damaged_files import truncate
from tests.scripts import run_torchrun


def _write_seg_dataset(root, maps):
    os.makedirs(osp.join(root, 'img'), exist_ok=True)
    os.makedirs(osp.join(root, 'ann'), exist_ok=True)
    for i, arr in enumerate(maps):
        Image.fromarray(np.zeros(arr.shape + (3,), np.uint8)).save(
            osp.join(root, 'img', f'{i:03d}.jpg')
        )
        Image.fromarray(arr.astype(np.uint8)).save(osp.join(root, 'ann', f'{i:03d}.png'))


def _seg_dataset(root, **kwargs):
    pytest.importorskip('mmseg')
    from mmseg.datasets import BaseSegDataset

    return BaseSegDataset(
        data_root=str(root),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=dict(classes=('background', 'a', 'b', 'c')),
        pipeline=[],
        **kwargs,
    )


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
    no_bg = build_class_index(ds, cache_dir=False, exclude_classes=('background',), progress=False)
    assert [r.tolist() for r in no_bg.image_classes] == [[1], [2], [3], []]
    with pytest.raises(ValueError, match='unknown class name'):
        build_class_index(ds, cache_dir=False, exclude_classes=('cat',))
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
    assert [r.tolist() for r in again.image_classes] == [r.tolist() for r in first.image_classes]
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
    maps = [
        rng.choice([0, 1, 2, 3, 255], size=(4, 4), p=[0.4, 0.3, 0.1, 0.1, 0.1]) for _ in range(80)
    ]
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
    assert [r.tolist() for r in index.image_classes] == [[0, 1], [2], [0, 3], [], [0, 3], [1, 2]]
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
    anns = [
        dict(id=1, image_id=1, category_id=7, bbox=[0, 0, 5, 5], area=25, iscrowd=0),
        dict(id=2, image_id=1, category_id=3, bbox=[5, 5, 5, 5], area=25, iscrowd=0),
        dict(id=3, image_id=2, category_id=7, bbox=[1, 1, 4, 4], area=16, iscrowd=0),
        dict(id=4, image_id=3, category_id=5, bbox=[2, 2, 6, 6], area=36, iscrowd=0),
    ]
    cats = [dict(id=3, name='a'), dict(id=5, name='b'), dict(id=7, name='c')]
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    ds = CocoDataset(
        ann_file=str(ann_file),
        data_root=str(tmp_path),
        pipeline=[],
        data_prefix=dict(img=''),
        metainfo=dict(classes=('a', 'b', 'c')),
    )
    index = build_class_index(ds, progress=False)
    # COCO category ids 3, 5, 7 are labels 0, 1, 2
    expected = {'1.jpg': [0, 2], '2.jpg': [2], '3.jpg': [1]}
    for i in range(len(ds)):
        name = osp.basename(ds.get_data_info(i)['img_path'])
        assert index.image_classes[i].tolist() == expected[name]


def _random_maps(num, seed=0, size=32):
    """Label maps of random classes 0-3 and ignore (255), large enough that a truncated PNG
    keeps its header (Pillow then says 'image file is truncated')."""
    rng = np.random.default_rng(seed)
    return [rng.choice([0, 1, 2, 3, 255], size=(size, size)) for _ in range(num)]


@pytest.mark.parametrize('num_workers', [1, 2])
def test_truncated_label_map_is_named(tmp_path, num_workers):
    maps = _random_maps(70)  # >= 64 maps: the thread pool decodes them with 2 workers
    _write_seg_dataset(tmp_path / 'd', maps)
    damaged = truncate(osp.join(tmp_path, 'd', 'ann', '037.png'))
    ds = _seg_dataset(tmp_path / 'd')
    with pytest.raises(OSError) as info:
        build_class_index(ds, cache_dir=False, num_workers=num_workers, progress=False)
    assert str(info.value).startswith(
        f'label map {damaged} cannot be decoded (OSError: image file is truncated'
    )


def _damage(path, how):
    if how == 'partial_copy':
        truncate(path)
    elif how == 'empty':
        open(path, 'wb').close()
    elif how == 'garbage':
        with open(path, 'wb') as f:
            f.write(os.urandom(300))
    elif how == 'other_layout':  # a readable npz without the index arrays
        with open(path, 'wb') as f:
            np.savez(f, something=np.arange(3))
    elif how == 'wrong_length':  # a readable index of another dataset size
        with open(path, 'wb') as f:
            np.savez(f, offsets=np.array([0, 1]), classes=np.array([2]))


@pytest.mark.parametrize(
    'how', ['partial_copy', 'empty', 'garbage', 'other_layout', 'wrong_length']
)
def test_unreadable_cache_is_rebuilt_with_a_warning(tmp_path, monkeypatch, how):
    _write_seg_dataset(tmp_path / 'd', MAPS)
    ds = _seg_dataset(tmp_path / 'd')
    cache = str(tmp_path / 'cache')
    first = build_class_index(ds, cache_dir=cache, progress=False)
    (name,) = os.listdir(cache)
    cache_file = osp.join(cache, name)
    _damage(cache_file, how)
    if how == 'partial_copy':  # what used to escape the rebuild on every later run
        with pytest.raises(zipfile.BadZipFile):
            np.load(cache_file)
    with pytest.warns(UserWarning, match=f'class index cache {cache_file} is unreadable'):
        again = build_class_index(ds, cache_dir=cache, progress=False)
    # by hand from MAPS (255 ignored)
    assert [r.tolist() for r in again.image_classes] == [[0, 1], [2], [0, 3], []]
    assert np.array_equal(again.classes, first.classes)
    # the rebuilt cache is written back: the next run loads it without decoding or warning

    def no_decode(*args, **kwargs):
        raise AssertionError('the rewritten cache should have been loaded')

    monkeypatch.setattr(ci_mod, 'label_map_classes', no_decode)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        third = build_class_index(ds, cache_dir=cache, progress=False)
    assert np.array_equal(third.offsets, first.offsets)


@pytest.mark.timeout(55)
@pytest.mark.skipif(sys.platform != 'linux', reason='gloo launch tested on linux')
def test_real_two_process_gloo_class_index(tmp_path):
    """torchrun, 2 CPU processes on gloo: a failure on one rank is raised on both, at once."""
    maps_dir = tmp_path / 'maps'
    maps_dir.mkdir()
    maps = _random_maps(8, seed=1)
    for i, arr in enumerate(maps):
        Image.fromarray(arr.astype(np.uint8)).save(maps_dir / f'{i:02d}.png')
    damaged = truncate(str(maps_dir / '05.png'))
    worker = osp.join(osp.dirname(__file__), 'dist_class_index_worker.py')
    out = tmp_path / 'result.json'
    returncode, log = run_torchrun(worker, str(tmp_path), str(out), timeout=50)
    assert returncode == 0, log[-3000:]
    result = json.loads(out.read_text())
    for case, ranks in result.items():
        assert all(r['seconds'] < 10 for r in ranks), (case, ranks)  # nobody waited
    ok0, ok1 = result['ok']
    assert ok0['ok'] == ok1['ok'] == [sorted({i % 4, (i + 1) % 4}) for i in range(24)]
    r0, r1 = result['fail_rank0']
    assert (r0['error'], r0['message']) == ('OSError', 'injected failure on rank 0')
    assert r1['error'] == 'RuntimeError'
    assert r1['message'] == (
        'rank 0 failed to build the class index: OSError: injected failure on rank 0'
    )
    r0, r1 = result['fail_rank1']
    assert (r1['error'], r1['message']) == ('OSError', 'injected failure on rank 1')
    assert r0['error'] == 'RuntimeError' and r0['message'].startswith('rank 1 failed')
    r0, r1 = result['truncated_png']
    assert r0['error'] == 'OSError' and r0['message'].startswith(f'label map {damaged} ')
    assert r1['error'] == 'RuntimeError' and damaged in r1['message']


def test_out_of_range_label_values_name_the_map_and_every_value(tmp_path):
    """Issue 26: values outside [0, C) that are not ignore_index are an error naming the
    label map and all its bad values (before: only the largest value of one map)."""
    maps = [np.array([[0, 1], [255, 2]]), np.array([[0, 7], [9, 255]]), np.array([[5, 3]])]
    _write_seg_dataset(tmp_path / 'd', maps)
    ds = _seg_dataset(tmp_path / 'd')
    with pytest.raises(ValueError) as info:
        build_class_index(ds, cache_dir=False, progress=False)
    message = str(info.value)
    bad_map = ds.get_data_info(1)['seg_map_path']
    assert f'label map {bad_map} holds ground-truth values [7, 9]' in message, message
    assert '[0, 4)' in message and 'ignore_index=255' in message
    assert '(1 more label maps hold such values)' in message
    # 255 is a class value once another ignore_index is chosen
    _write_seg_dataset(tmp_path / 'e', [np.array([[0, 255]])])
    with pytest.raises(ValueError, match=r'holds ground-truth values \[255\].*ignore_index=3'):
        build_class_index(_seg_dataset(tmp_path / 'e'), ignore_index=3, cache_dir=False)
    # a label_map that maps onto a value outside the classes is caught after the mapping
    _write_seg_dataset(tmp_path / 'f', [np.array([[0, 1]])])
    from mmseg.datasets import BaseSegDataset

    class Mapped(BaseSegDataset):
        def get_data_info(self, idx):
            info = super().get_data_info(idx)
            info['label_map'] = {1: 6}
            return info

    mapped = Mapped(
        data_root=str(tmp_path / 'f'),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=dict(classes=('background', 'a', 'b', 'c')),
        pipeline=[],
    )
    with pytest.raises(ValueError, match=r'000\.png holds ground-truth values \[6\]'):
        build_class_index(mapped, cache_dir=False, progress=False)


def test_out_of_range_cat_ids_name_the_image():
    pytest.importorskip('mmengine')
    from mmengine.dataset import BaseDataset

    class Det(BaseDataset):
        METAINFO = dict(classes=('a', 'b', 'c'))

        def load_data_list(self):
            return [
                dict(img_path='/img/0.jpg', labels=[0]),
                dict(img_path='/img/1.jpg', labels=[2, 5, -1]),
            ]

        def get_cat_ids(self, idx):
            return self.get_data_info(idx)['labels']

    with pytest.raises(
        ValueError,
        match=r'get_cat_ids\(1\) of image /img/1\.jpg holds '
        r'ground-truth values \[-1, 5\] outside the allowed values \[0, 3\)',
    ):
        build_class_index(Det(serialize_data=False), progress=False)
