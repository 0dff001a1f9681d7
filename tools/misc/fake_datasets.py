"""Tiny fake copies of the datasets of the mmext configs, in their real on-disk layout.

One writer per layout, dispatched on the dataset ``type`` of a config (:data:`FAKE_LAYOUTS`).
:func:`write_leaf` points a leaf dataset config into a fresh directory and its writer writes a
few images per split there, with labels of the dataset's own classes, exactly where the
upstream dataset class reads them (``dry_run_config.py`` walks the dataset wrappers):

* ``PascalVOCDataset`` (VOC 2012 aug): ``JPEGImages``, ``SegmentationClass`` (palette PNGs),
  ``SegmentationClassAug`` (grey PNGs from mmseg's ``voc_aug.py``), ``ImageSets/Segmentation``;
* ``CityscapesDataset``: ``leftImg8bit/<split>/<city>`` and ``gtFine/<split>/<city>`` with the
  ``*_gtFine_labelTrainIds.png`` of mmseg's ``cityscapes.py`` converter;
* ``ADE20KDataset``: ``images/`` and ``annotations/`` (0 = other, 1..150 = the classes);
* ``VOCDataset`` (detection): ``VOC20xx/{JPEGImages,Annotations,ImageSets/Main}``;
* ``CocoDataset`` / ``mmext.CocoDatasetWithWeights``: ``<split>2017/`` and
  ``annotations/instances_<split>2017.json`` (the real category ids);
* ``MNIST`` (idx files), ``CIFAR10`` / ``CIFAR100`` (python pickles), ``ImageNet`` (class
  folders + ``meta/*.txt``).

:func:`dataset_tree` prints the tree a dataset type expects (the "Prepare the data" sections
of the READMEs quote it; a test keeps them equal).
"""

import json
import os
import os.path as osp
import pickle
import struct
import tempfile
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png')
PER_IMAGE_SUFFIXES = IMAGE_SUFFIXES + ('.xml',)  # shown once per folder in the trees
SPLIT_FOLDERS = ('train', 'val', 'test')  # their sub-folders (classes, cities) shown once
# COCO 2017's 80 category ids (1..90 with gaps), in the order of mmdet's CocoDataset classes
COCO_CAT_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
# the first ImageNet-1k synsets (class indices 0..4 of mmpretrain's IMAGENET_CATEGORIES)
IMAGENET_WNIDS = ['n01440764', 'n01443537', 'n01484850', 'n01491361', 'n01494475']
CITIES = dict(train=['aachen', 'bochum'], val=['frankfurt', 'lindau'], test=['berlin'])


def _classes(ds: dict, class_name: str, scope: str, key: str = 'classes') -> tuple:
    """The classes (or ``key``) of a dataset config: its ``metainfo`` or the class's."""
    meta = ds.get('metainfo') or {}
    if meta.get(key):
        return tuple(meta[key])
    import importlib

    return tuple(getattr(importlib.import_module(f'{scope}.datasets'), class_name).METAINFO[key])


def _image(path: str, size: Tuple[int, int], rng: np.random.Generator) -> None:
    """Write a random RGB image of ``size`` = (w, h) (JPEG or PNG by suffix)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    w, h = size
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def _label_map(size, values, rng, ignore: Optional[int] = 255) -> np.ndarray:
    """A label map of ``size`` = (w, h): a 3 x 2 grid of random values of ``values[1:]`` on
    ``values[0]`` (up to 7 classes per image, as class-aware samplers need)."""
    w, h = size
    seg = np.full((h, w), values[0], np.uint8)
    for i, v in enumerate(rng.choice(values[1:], size=min(6, len(values) - 1), replace=False)):
        x0, y0 = (i % 3) * w // 3, (i // 3) * h // 2
        seg[y0 + 2 : y0 + h // 2 - 2, x0 + 2 : x0 + w // 3 - 2] = v
    if ignore is not None:
        seg[:2] = ignore  # a border of ignored pixels, as in VOC
    return seg


def _write_list(path: str, lines: List[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(line + '\n' for line in lines)


def _next_index(folder: str) -> int:
    return len(os.listdir(folder)) if osp.isdir(folder) else 0


def _boxes(size, k, rng) -> List[List[int]]:
    w, h = size
    out = []
    for _ in range(k):
        bw, bh = rng.integers(w // 3, w // 2), rng.integers(h // 3, h // 2)
        x0, y0 = rng.integers(1, w - bw), rng.integers(1, h - bh)
        out.append([int(x0), int(y0), int(x0 + bw), int(y0 + bh)])
    return out


# --- segmentation (mmseg) ---------------------------------------------------------------------
def write_voc_aug(ds: dict, num: int, rng, hint: dict) -> str:
    """mmseg ``PascalVOCDataset``: the split file lists ids; labels 0..20 and 255."""
    root, prefix = ds['data_root'], ds['data_prefix']
    img_dir, seg_dir = osp.join(root, prefix['img_path']), osp.join(root, prefix['seg_map_path'])
    k = len(_classes(ds, 'PascalVOCDataset', 'mmseg'))
    start = _next_index(img_dir)
    ids = [f'2007_{start + i + 1:06d}' for i in range(num)]
    palette = osp.basename(osp.normpath(seg_dir)) == 'SegmentationClass'
    for name in ids:
        _image(osp.join(img_dir, name + '.jpg'), (128, 96), rng)
        label = _label_map((128, 96), list(range(k)), rng)
        # VOC's own label maps are palette PNGs (the value is the palette index), voc_aug.py
        # writes grey ones
        seg = Image.frombytes('P' if palette else 'L', (128, 96), label.tobytes())
        if palette:
            seg.putpalette(
                [c for rgb in _classes(ds, 'PascalVOCDataset', 'mmseg', 'palette') for c in rgb]
            )
        os.makedirs(seg_dir, exist_ok=True)
        seg.save(osp.join(seg_dir, name + '.png'))
    _write_list(osp.join(root, ds['ann_file']), ids)
    return f'VOC2012 {prefix["seg_map_path"]} + {ds["ann_file"]}'


def _seg_pairs(ds, names, size, values, ignore, img_suffix, seg_suffix, rng) -> None:
    root, prefix = ds['data_root'], ds['data_prefix']
    for name in names:
        _image(osp.join(root, prefix['img_path'], name + img_suffix), size, rng)
        seg_path = osp.join(root, prefix['seg_map_path'], name + seg_suffix)
        os.makedirs(osp.dirname(seg_path), exist_ok=True)
        Image.fromarray(_label_map(size, values, rng, ignore)).save(seg_path)


def write_cityscapes(ds: dict, num: int, rng, hint: dict) -> str:
    """mmseg ``CityscapesDataset``: ``<city>/<city>_<seq>_<frame>_leftImg8bit.png``."""
    split = osp.basename(osp.normpath(ds['data_prefix']['img_path']))
    cities = CITIES.get(split, ['city'])
    k = len(_classes(ds, 'CityscapesDataset', 'mmseg'))
    names = [f'{c}/{c}_{i:06d}_000019' for i in range(num) for c in [cities[i % len(cities)]]]
    suffixes = ('_leftImg8bit.png', '_gtFine_labelTrainIds.png')
    _seg_pairs(ds, names, (128, 64), list(range(k)), 255, *suffixes, rng)
    return f'Cityscapes {split} (leftImg8bit + gtFine labelTrainIds)'


def write_ade20k(ds: dict, num: int, rng, hint: dict) -> str:
    """mmseg ``ADE20KDataset``: ``ADE_<split>_<n>.jpg`` / ``.png``, 0 = other."""
    split = osp.basename(osp.normpath(ds['data_prefix']['img_path']))
    tag = 'train' if split == 'training' else 'val'
    k = len(_classes(ds, 'ADE20KDataset', 'mmseg'))
    names = [f'ADE_{tag}_{i + 1:08d}' for i in range(num)]
    _seg_pairs(ds, names, (128, 96), list(range(k + 1)), None, '.jpg', '.png', rng)
    return f'ADEChallengeData2016 {split} (images + annotations)'


# --- detection (mmdet) ------------------------------------------------------------------------
def write_voc_det(ds: dict, num: int, rng, hint: dict) -> str:
    """mmdet ``VOCDataset``: ``Annotations/<id>.xml`` with size and objects."""
    sub = osp.join(ds['data_root'], ds['data_prefix']['sub_data_root'])
    classes = _classes(ds, 'VOCDataset', 'mmdet')
    start = _next_index(osp.join(sub, 'JPEGImages'))
    voc07 = 'VOC2007' in sub
    ids = [f'{start + i + 1:06d}' if voc07 else f'2012_{start + i + 1:06d}' for i in range(num)]
    size = (128, 96)
    for img_id in ids:
        _image(osp.join(sub, 'JPEGImages', img_id + '.jpg'), size, rng)
        objects = ''.join(
            f'<object><name>{classes[rng.integers(len(classes))]}</name><difficult>0</difficult>'
            f'<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>'
            f'<ymax>{b[3]}</ymax></bndbox></object>'
            for b in _boxes(size, 2, rng)
        )
        xml = (
            f'<annotation><filename>{img_id}.jpg</filename><size><width>{size[0]}</width>'
            f'<height>{size[1]}</height><depth>3</depth></size>{objects}</annotation>'
        )
        os.makedirs(osp.join(sub, 'Annotations'), exist_ok=True)
        with open(osp.join(sub, 'Annotations', img_id + '.xml'), 'w') as f:
            f.write(xml)
    _write_list(osp.join(ds['data_root'], ds['ann_file']), ids)
    return f'VOCdevkit {ds["ann_file"]} (XML)'


def write_coco(ds: dict, num: int, rng, hint: dict) -> str:
    """mmdet ``CocoDataset``: ``instances_*.json`` with COCO's category ids and names."""
    root = ds['data_root']
    img_dir = osp.join(root, ds['data_prefix']['img'])
    classes = _classes(ds, 'CocoDataset', 'mmdet')
    cat_ids = COCO_CAT_IDS if len(classes) == 80 else list(range(1, len(classes) + 1))
    os.makedirs(root, exist_ok=True)
    start = sum(_next_index(osp.join(root, d)) for d in os.listdir(root) if d != 'annotations')
    images, anns, size = [], [], (128, 96)
    for i in range(num):
        img_id = start + i + 1
        name = f'{img_id:012d}.jpg'
        _image(osp.join(img_dir, name), size, rng)
        images.append(dict(id=img_id, file_name=name, width=size[0], height=size[1]))
        for x0, y0, x1, y1 in _boxes(size, 2, rng):
            w, h = x1 - x0, y1 - y0
            anns.append(
                dict(
                    id=len(anns) + 1 + 1000 * img_id,
                    image_id=img_id,
                    category_id=cat_ids[rng.integers(len(cat_ids))],
                    bbox=[x0, y0, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x0, y0, x1, y0, x1, y1, x0, y1]],
                )
            )
    cats = [dict(id=c, name=n, supercategory='none') for c, n in zip(cat_ids, classes)]
    ann_path = osp.join(root, ds['ann_file'])
    os.makedirs(osp.dirname(ann_path), exist_ok=True)
    with open(ann_path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return f'COCO {ds["data_prefix"]["img"]} + {ds["ann_file"]}'


# --- classification (mmpretrain) --------------------------------------------------------------
def _idx(path: str, array: np.ndarray) -> None:
    """An MNIST idx file (uint8, big-endian dims), uncompressed as mmpretrain reads it."""
    with open(path, 'wb') as f:
        f.write(struct.pack('>I', 0x0800 + array.ndim))
        f.write(struct.pack(f'>{array.ndim}I', *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def write_mnist(ds: dict, num: int, rng, hint: dict) -> str:
    """mmpretrain ``MNIST``: the four extracted idx files (all needed by every split)."""
    root = osp.join(ds.get('data_root', ''), ds['data_prefix'])
    os.makedirs(root, exist_ok=True)
    for stem, n in (('train', 20), ('t10k', 10)):
        labels = np.arange(n) % 10
        _idx(osp.join(root, f'{stem}-labels-idx1-ubyte'), labels)
        _idx(osp.join(root, f'{stem}-images-idx3-ubyte'), rng.integers(0, 256, (n, 28, 28)))
    return 'MNIST idx files'


def _cifar_labels(k: int, hint: dict) -> np.ndarray:
    """Train labels: one image per class or, under ``mmext.LongTailSubset``, the long-tail
    counts of its ``imbalance_ratio`` (so that the subset keeps every class)."""
    ratio = hint.get('imbalance_ratio')
    if ratio is None:
        return np.arange(max(k, 10)) % k
    from mmext.datasets.long_tail import long_tail_counts

    n_max = hint.get('max_per_class') or int(np.ceil(ratio))
    return np.repeat(np.arange(k), long_tail_counts(n_max, ratio, k))


def write_cifar(ds: dict, num: int, rng, hint: dict) -> str:
    """mmpretrain ``CIFAR10`` / ``CIFAR100``: the python pickles (every file, as the dataset
    checks them all)."""
    cifar100 = ds['type'].split('.')[-1] == 'CIFAR100'
    k = len(_classes(ds, 'CIFAR100' if cifar100 else 'CIFAR10', 'mmpretrain'))
    folder = osp.join(ds['data_root'], 'cifar-100-python' if cifar100 else 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    key = 'fine_labels' if cifar100 else 'labels'
    train_files = ['train'] if cifar100 else [f'data_batch_{i}' for i in range(1, 6)]
    splits = dict(test=(['test'] if cifar100 else ['test_batch'], np.arange(10) % k))
    if ds.get('split', 'train') == 'train' or not osp.exists(osp.join(folder, train_files[0])):
        splits['train'] = (train_files, _cifar_labels(k, hint))
    for files, labels in splits.values():
        for i, name in enumerate(files):
            part = labels[i :: len(files)].tolist()
            data = rng.integers(0, 256, (len(part), 3072), dtype=np.uint8)
            entry = {key: part, 'data': data, 'filenames': [f'{j}.png' for j in range(len(part))]}
            with open(osp.join(folder, name), 'wb') as f:
                pickle.dump(entry, f, protocol=2)
    meta = 'meta' if cifar100 else 'batches.meta'
    names = 'fine_label_names' if cifar100 else 'label_names'
    with open(osp.join(folder, meta), 'wb') as f:
        pickle.dump({names: list(_classes(ds, ds['type'].split('.')[-1], 'mmpretrain'))}, f)
    return f'{osp.basename(folder)} pickles'


def write_imagenet(ds: dict, num: int, rng, hint: dict) -> str:
    """mmpretrain ``ImageNet``: ``train/<wnid>/*.JPEG``, flat ``val/`` and ``meta/<split>.txt``."""
    root, split = ds['data_root'], ds.get('split') or 'train'
    lines = []
    for i in range(num):
        label = i % len(IMAGENET_WNIDS)
        wnid = IMAGENET_WNIDS[label]
        name = (
            f'{wnid}/{wnid}_{i + 1}.JPEG'
            if split == 'train'
            else f'ILSVRC2012_val_{i + 1:08d}.JPEG'
        )
        _image(osp.join(root, split, name), (96, 72), rng)
        lines.append(f'{name} {label}')
    _write_list(osp.join(root, 'meta', f'{split}.txt'), lines)
    return f'ImageNet {split}/ + meta/{split}.txt'


def write_digits(ds: dict, num: int, rng, hint: dict) -> str:
    """mmext's digits datasets build their own files under ``data_root``: fewer of them."""
    if ds['type'].endswith('DigitsClsDataset'):
        ds['max_per_class'] = max(2, int(np.ceil(ds.get('imbalance_ratio', 10.0))))
    else:
        ds['num_images'] = 4 * num
    return 'digits, built by the dataset'


FAKE_LAYOUTS: Dict[str, Callable[[dict, int, np.random.Generator, dict], str]] = {
    'PascalVOCDataset': write_voc_aug,
    'CityscapesDataset': write_cityscapes,
    'ADE20KDataset': write_ade20k,
    'VOCDataset': write_voc_det,
    'CocoDataset': write_coco,
    'mmext.CocoDatasetWithWeights': write_coco,
    'MNIST': write_mnist,
    'CIFAR10': write_cifar,
    'CIFAR100': write_cifar,
    'ImageNet': write_imagenet,
    'mmext.DigitsSegDataset': write_digits,
    'mmext.DigitsCocoDataset': write_digits,
    'mmext.DigitsClsDataset': write_digits,
}


def fake_writer(dataset_type: str) -> Callable:
    """The writer of ``dataset_type`` (a scope prefix such as ``mmdet.`` is accepted).

    Raises:
        KeyError: ``no fake layout for dataset type X``.
    """
    for name in (dataset_type, dataset_type.split('.', 1)[-1], f'mmext.{dataset_type}'):
        if name in FAKE_LAYOUTS:
            return FAKE_LAYOUTS[name]
    raise KeyError(f'no fake layout for dataset type {dataset_type}')


def rebase(path: str, fake_root: str) -> str:
    """``path`` (relative or absolute) mirrored under ``fake_root``."""
    return osp.join(fake_root, osp.normpath(path).lstrip(os.sep))


def write_leaf(ds: dict, fake_root: str, num: int, rng, hint: Optional[dict] = None) -> str:
    """Point a leaf dataset config at ``fake_root`` and write its fake files there.

    Args:
        ds (dict): The dataset config; edited in place: ``data_root`` (absolute ``ann_file``
            / ``data_prefix`` paths too) mirrored under ``fake_root``, ``indices`` dropped.
        fake_root (str): The fresh directory the real paths are mirrored under.
        num (int): Images of the split (classification splits write one per class or more).
        rng (np.random.Generator): Pixel and label randomness.
        hint (dict, optional): The enclosing wrapper's settings (``imbalance_ratio``).

    Returns:
        str: ``Type(layout)``, e.g. ``CocoDataset(COCO val2017/ + annotations/...)``.

    Raises:
        KeyError: ``no fake layout for dataset type X``.
    """
    writer = fake_writer(ds['type'])
    ds['data_root'] = rebase(ds['data_root'], fake_root) if ds.get('data_root') else fake_root
    for key in ('ann_file', 'data_prefix'):
        if isinstance(ds.get(key), str) and osp.isabs(ds[key]):
            ds[key] = rebase(ds[key], fake_root)
        elif isinstance(ds.get(key), dict):
            ds[key] = {k: rebase(v, fake_root) if osp.isabs(v) else v for k, v in ds[key].items()}
    ds.pop('indices', None)
    return f'{ds["type"]}({writer(ds, num, rng, hint or {})})'


# The configs' own dataset settings, per type (what the READMEs' trees show; a test compares
# them with the configs).
_VOC_SEG = dict(type='PascalVOCDataset', data_root='data/VOCdevkit/VOC2012')
_VOC_DET = dict(type='VOCDataset', data_root='data/VOCdevkit')
CANONICAL: Dict[str, List[dict]] = {
    'PascalVOCDataset': [
        dict(_VOC_SEG, ann_file=f'ImageSets/Segmentation/{s}.txt', data_prefix=p)
        for s, p in (
            ('train', dict(img_path='JPEGImages', seg_map_path='SegmentationClass')),
            ('aug', dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')),
            ('val', dict(img_path='JPEGImages', seg_map_path='SegmentationClass')),
        )
    ],
    'CityscapesDataset': [
        dict(
            type='CityscapesDataset',
            data_root='data/cityscapes',
            data_prefix=dict(img_path=f'leftImg8bit/{s}', seg_map_path=f'gtFine/{s}'),
        )
        for s in ('train', 'val')
    ],
    'ADE20KDataset': [
        dict(
            type='ADE20KDataset',
            data_root='data/ade/ADEChallengeData2016',
            data_prefix=dict(img_path=f'images/{s}', seg_map_path=f'annotations/{s}'),
        )
        for s in ('training', 'validation')
    ],
    'VOCDataset': [
        dict(_VOC_DET, ann_file=f'{y}/ImageSets/Main/{s}.txt', data_prefix=dict(sub_data_root=y))
        for y, s in (('VOC2007', 'trainval'), ('VOC2007', 'test'), ('VOC2012', 'trainval'))
    ],
    'CocoDataset': [
        dict(
            type='CocoDataset',
            data_root='data/coco',
            ann_file=f'annotations/instances_{s}2017.json',
            data_prefix=dict(img=f'{s}2017/'),
        )
        for s in ('train', 'val')
    ],
    'MNIST': [dict(type='MNIST', data_prefix='data/mnist')],
    **{
        t: [dict(type=t, data_root=f'data/{t.lower()}', split=s) for s in ('train', 'test')]
        for t in ('CIFAR10', 'CIFAR100')
    },
    'ImageNet': [
        dict(type='ImageNet', data_root='data/imagenet', split=s) for s in ('train', 'val')
    ],
}


def _tree_lines(folder: str, prefix: str) -> List[str]:
    """``tree``-style lines; per-image files and the class / city folders of a split folder
    are shown once, then ``...``."""
    entries = sorted(os.listdir(folder))
    dirs = [e for e in entries if osp.isdir(osp.join(folder, e))]
    files = [e for e in entries if e not in dirs]
    images = [f for f in files if f.lower().endswith(PER_IMAGE_SUFFIXES)]
    shown: List[str] = [f for f in files if f not in images] + images[:1]
    shown_dirs = dirs[:1] if osp.basename(folder) in SPLIT_FOLDERS else dirs
    items = sorted(shown_dirs + shown)
    if len(images) > 1 or len(shown_dirs) < len(dirs):
        items.append('...')
    lines = []
    for i, name in enumerate(items):
        last = i == len(items) - 1
        lines.append(prefix + ('└── ' if last else '├── ') + name)
        if name in dirs:
            lines += _tree_lines(osp.join(folder, name), prefix + ('    ' if last else '│   '))
    return lines


def dataset_tree(dataset_type: str) -> str:
    """The directory tree the configs' ``dataset_type`` reads, written by its fake writer.

    Args:
        dataset_type (str): A key of :data:`CANONICAL`.

    Returns:
        str: ``tree``-like text rooted at the configs' ``data_root`` (e.g. ``data/coco``).
    """
    leaves = CANONICAL[dataset_type]
    with tempfile.TemporaryDirectory() as tmp:
        for ds in leaves:
            write_leaf(
                dict(ds), tmp, 4 if 'train' in json.dumps(ds) else 2, np.random.default_rng(0)
            )
        top = leaves[0].get('data_root') or leaves[0]['data_prefix']
        return '\n'.join([top] + _tree_lines(rebase(top, tmp), ''))


if __name__ == '__main__':
    import sys

    for name in sys.argv[1:] or CANONICAL:
        print(dataset_tree(name), end='\n\n')
