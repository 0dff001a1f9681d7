"""Dataset classes that read (and build on demand) the offline long-tailed digits datasets.

Each class subclasses the host's own dataset class, so everything downstream (pipelines,
samplers, metrics) sees an ordinary mmseg / mmdet / mmpretrain dataset:

* :class:`DigitsSegDataset` -- mmseg ``BaseSegDataset`` (folder format),
* :class:`DigitsCocoDataset` -- mmdet ``CocoDataset`` (COCO json),
* :class:`DigitsClsDataset` -- mmpretrain ``CustomDataset`` (annotation file).

With ``auto_build=True`` (default) the constructor first calls the split's builder of
:mod:`mmext.datasets.digits.builders` with the given parameters: it returns at once when
``data_root`` already holds that split with the same parameters, and (re)builds it in a few
seconds otherwise. Train and val splits are built independently (each has its own
``digits_meta_<split>.json``), so a config can give them different parameters, e.g. a
long-tailed train split and a balanced (``imbalance_ratio=1``) val split. The class
profile is ``imbalance_ratio ** (-k / 9)`` for digit ``k`` (see the builders).

A sample whose pipeline fails on a damaged file (e.g. a PNG truncated by an interrupted copy)
raises an ``OSError`` naming that file (:class:`~mmext.utils.image_files.NameDamagedFiles`).

A dataset left without a sample (e.g. ``indices=0``, an empty index list, or a ``filter_cfg``
that drops every image) raises ``ValueError: ... dataset is empty`` naming the dataset when it
is initialised, instead of mmengine's ``need at least one array to concatenate``
(:class:`RejectEmpty`).
"""

from typing import Optional, Union

from mmdet.datasets import CocoDataset
from mmpretrain.datasets import CustomDataset
from mmseg.datasets import BaseSegDataset

from mmext.registry import DATASETS
from mmext.utils.image_files import NameDamagedFiles

from .builders import SEG_CLASSES, build_digits_cls, build_digits_det, build_digits_seg
from .common import DIGIT_NAMES

#: one visualisation colour per digit
DIGIT_PALETTE = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 190),
]


class RejectEmpty:
    """Mixin of the digits datasets: an initialised dataset without any sample is an error.

    mmengine serialises the data list with ``np.concatenate``, which fails on an empty one
    with an error that names neither the dataset nor the reason (``indices=0``, an empty
    index list, a ``filter_cfg`` that drops everything); without serialisation the empty
    dataset would only fail in the sampler. Both paths raise a ``ValueError`` naming the
    dataset class, its split, ``data_root``, ``indices`` and ``filter_cfg`` instead.
    """

    def _empty_error(self) -> ValueError:
        """The error for a dataset with no sample (see the class docstring)."""
        return ValueError(
            f'{type(self).__name__} (split {getattr(self, "split", None)!r}, data_root '
            f'{getattr(self, "data_root", None)!r}): the dataset is empty: no sample is left '
            f'with indices={getattr(self, "_indices", None)!r} and '
            f'filter_cfg={getattr(self, "filter_cfg", None)!r}; select at least one sample'
        )

    def _serialize_data(self):
        """mmengine's serialisation, after checking that there is something to serialise.

        Raises:
            ValueError: If the data list is empty.
        """
        if len(self.data_list) == 0:
            raise self._empty_error()
        return super()._serialize_data()

    def full_init(self) -> None:
        """The host's ``full_init``, then a check that the dataset holds a sample.

        Raises:
            ValueError: If the dataset is empty.
        """
        if getattr(self, '_fully_initialized', False):
            return
        super().full_init()
        if not self.serialize_data and len(self.data_list) == 0:
            raise self._empty_error()


@DATASETS.register_module()
class DigitsSegDataset(RejectEmpty, NameDamagedFiles, BaseSegDataset):
    """Long-tailed digits semantic segmentation (11 classes: background, '0'..'9').

    Reads ``img_dir/<split>/*.png`` and ``ann_dir/<split>/*.png`` under ``data_root``
    (built by :func:`~mmext.datasets.digits.builders.build_digits_seg` when missing or
    built with other parameters). Label 0 is background and ``1 + k`` digit ``k``; the
    number of digits of class ``k`` is proportional to ``imbalance_ratio ** (-k / 9)``.

    Args:
        data_root (str): Dataset root. Defaults to ``'data/digits_seg'``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        num_images (int): Images of the split. Defaults to 1000.
        imbalance_ratio (float): Head/tail instance ratio (1 = balanced). Defaults to 10.
        seed (int): Generation seed. Defaults to 0.
        build_cfg (dict, optional): Further keyword arguments of ``build_digits_seg``
            (``canvas_size``, ``digits_per_image``, ``digit_size``, ``ink_threshold``,
            ``noise_std``). Defaults to None.
        auto_build (bool): Build the split if needed before reading it. Defaults to True.
        data_prefix (dict, optional): Defaults to
            ``dict(img_path='img_dir/<split>', seg_map_path='ann_dir/<split>')``.
        img_suffix (str): Defaults to ``'.png'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: Other arguments of ``BaseSegDataset`` (``pipeline``, ...).
    """

    METAINFO = dict(classes=SEG_CLASSES, palette=[(0, 0, 0)] + DIGIT_PALETTE)

    def __init__(
        self,
        data_root: str = 'data/digits_seg',
        split: str = 'train',
        num_images: int = 1000,
        imbalance_ratio: float = 10.0,
        seed: int = 0,
        build_cfg: Optional[dict] = None,
        auto_build: bool = True,
        data_prefix: Optional[dict] = None,
        img_suffix: str = '.png',
        seg_map_suffix: str = '.png',
        **kwargs,
    ) -> None:
        self.split = split
        self.build_meta = (
            build_digits_seg(
                data_root, split, num_images, imbalance_ratio, seed, **(build_cfg or {})
            )
            if auto_build
            else None
        )
        if data_prefix is None:
            data_prefix = dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs,
        )


@DATASETS.register_module()
class DigitsCocoDataset(RejectEmpty, NameDamagedFiles, CocoDataset):
    """Long-tailed digits object detection in COCO format (classes '0'..'9').

    Reads ``annotations/instances_<split>.json`` and ``<split>/*.png`` under
    ``data_root`` (built by :func:`~mmext.datasets.digits.builders.build_digits_det`
    when missing or built with other parameters). Category ids 1..10 are digits 0..9;
    the number of boxes of digit ``k`` is proportional to ``imbalance_ratio ** (-k / 9)``.

    Args:
        data_root (str): Dataset root. Defaults to ``'data/digits_det'``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        num_images (int): Images of the split. Defaults to 1000.
        imbalance_ratio (float): Head/tail box ratio (1 = balanced). Defaults to 10.
        seed (int): Generation seed. Defaults to 0.
        build_cfg (dict, optional): Further keyword arguments of ``build_digits_det``.
            Defaults to None.
        auto_build (bool): Build the split if needed before reading it. Defaults to True.
        ann_file (str, optional): Defaults to ``'annotations/instances_<split>.json'``.
        data_prefix (dict, optional): Defaults to ``dict(img='<split>/')``.
        **kwargs: Other arguments of ``CocoDataset`` (``pipeline``, ``filter_cfg``, ...).
    """

    METAINFO = dict(classes=DIGIT_NAMES, palette=DIGIT_PALETTE)

    def __init__(
        self,
        data_root: str = 'data/digits_det',
        split: str = 'train',
        num_images: int = 1000,
        imbalance_ratio: float = 10.0,
        seed: int = 0,
        build_cfg: Optional[dict] = None,
        auto_build: bool = True,
        ann_file: Optional[str] = None,
        data_prefix: Optional[dict] = None,
        **kwargs,
    ) -> None:
        self.split = split
        self.build_meta = (
            build_digits_det(
                data_root, split, num_images, imbalance_ratio, seed, **(build_cfg or {})
            )
            if auto_build
            else None
        )
        super().__init__(
            data_root=data_root,
            ann_file=(f'annotations/instances_{split}.json' if ann_file is None else ann_file),
            data_prefix=(dict(img=f'{split}/') if data_prefix is None else data_prefix),
            **kwargs,
        )


@DATASETS.register_module()
class DigitsClsDataset(RejectEmpty, NameDamagedFiles, CustomDataset):
    """Long-tailed digits classification (classes '0'..'9', greyscale PNGs).

    Reads ``meta/<split>.txt`` and ``<split>/<k>/*.png`` under ``data_root`` (built by
    :func:`~mmext.datasets.digits.builders.build_digits_cls` when missing or built with
    other parameters). Digit ``k`` has ``floor(max_per_class * imbalance_ratio **
    (-k / 9))`` images.

    Args:
        data_root (str): Dataset root. Defaults to ``'data/digits_cls'``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        imbalance_ratio (float): Head/tail image ratio (1 = balanced). Defaults to 10.
        max_per_class (int, optional): Images of digit 0 (default: the whole pool, 400
            for train and 100 for val).
        seed (int): Generation seed. Defaults to 0.
        build_cfg (dict, optional): Further keyword arguments of ``build_digits_cls``
            (``image_size``). Defaults to None.
        auto_build (bool): Build the split if needed before reading it. Defaults to True.
        ann_file (str, optional): Defaults to ``'meta/<split>.txt'``.
        data_prefix (str | dict, optional): Defaults to ``'<split>'``.
        **kwargs: Other arguments of ``CustomDataset`` (``pipeline``, ...).
    """

    METAINFO = dict(classes=DIGIT_NAMES)

    def __init__(
        self,
        data_root: str = 'data/digits_cls',
        split: str = 'train',
        imbalance_ratio: float = 10.0,
        max_per_class: Optional[int] = None,
        seed: int = 0,
        build_cfg: Optional[dict] = None,
        auto_build: bool = True,
        ann_file: Optional[str] = None,
        data_prefix: Union[str, dict, None] = None,
        **kwargs,
    ) -> None:
        self.split = split
        self.build_meta = (
            build_digits_cls(
                data_root, split, imbalance_ratio, max_per_class, seed=seed, **(build_cfg or {})
            )
            if auto_build
            else None
        )
        super().__init__(
            data_root=data_root,
            ann_file=f'meta/{split}.txt' if ann_file is None else ann_file,
            data_prefix=split if data_prefix is None else data_prefix,
            **kwargs,
        )


__all__ = ['DigitsSegDataset', 'DigitsCocoDataset', 'DigitsClsDataset']
