"""``get_cat_ids`` for segmentation datasets, from mmext's label-map class index.

mmseg datasets do not implement ``get_cat_ids`` (open-mmlab/mmsegmentation#3104), so the
class-balanced tools OpenMMLab users already know refuse them: mmengine's
``ClassBalancedDataset`` (repeat factor sampling) and mmdet's ``ClassAwareSampler`` both ask
``dataset.get_cat_ids(i)`` which classes image ``i`` holds. :class:`ClassIndexedDataset` wraps
any dataset and answers from :func:`mmext.datasets.samplers.class_index.build_class_index`:
the distinct values of each label map after mmseg's ``reduce_zero_label`` / ``label_map``,
without ``ignore_index`` (decoded once, in threads, cached on disk).

.. code:: python

    train_dataloader = dict(dataset=dict(
        type='ClassBalancedDataset', oversample_thr=0.3,
        dataset=dict(type='mmext.ClassIndexedDataset', dataset=seg_dataset_cfg)))
    # or
    train_dataloader = dict(
        sampler=dict(type='mmdet.ClassAwareSampler', num_sample_class=1),
        dataset=dict(type='mmext.ClassIndexedDataset', dataset=seg_dataset_cfg))
"""

import copy
from typing import Any, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from mmext.registry import DATASETS

from .samplers.class_index import ClassIndex, build_class_index


@DATASETS.register_module()
class ClassIndexedDataset(BaseDataset):
    """A dataset wrapper whose ``get_cat_ids(i)`` lists the classes of image ``i``.

    Everything else (``__getitem__``, ``get_data_info``, ``metainfo``, ``len``) is the wrapped
    dataset's, so the wrapper can sit inside ``ClassBalancedDataset`` / ``RepeatDataset`` or
    under a class-aware sampler. Class ids index ``metainfo['classes']``.

    Args:
        dataset (dict | Dataset): The dataset (config), e.g. an mmseg ``BaseSegDataset``.
        ignore_index (int): Label-map value that is not a class. Defaults to 255.
        exclude_classes (Sequence[int | str]): Classes never reported (ids or names, e.g.
            ``('background',)`` so that background-only images count as having no class).
            Defaults to ().
        cache_dir (str | bool, optional): Cache folder of the index; None: mmext's default,
            False: no cache. Defaults to None.
        lazy_init (bool): Defer loading the dataset and building the index to
            :meth:`full_init`. Defaults to False.
    """

    def __init__(
        self,
        dataset: Union[dict, Any],
        ignore_index: int = 255,
        exclude_classes: Sequence[Union[int, str]] = (),
        cache_dir: Optional[Union[str, bool]] = None,
        lazy_init: bool = False,
    ) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self._metainfo = self.dataset.metainfo
        self.ignore_index = int(ignore_index)
        self.exclude_classes = tuple(exclude_classes)
        self.cache_dir = cache_dir
        self.index: Optional[ClassIndex] = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (``classes``, ``palette``, ...)."""
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        """Load the wrapped dataset and build (or load) its class index.

        Raises:
            ValueError: When a label map holds a value outside ``[0, len(classes))`` that is
                not ``ignore_index``, naming the label map and the values (such pixels are
                never dropped silently; see
                :func:`~mmext.datasets.samplers.class_index.check_label_values`).
        """
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        self.index = build_class_index(
            self.dataset,
            ignore_index=self.ignore_index,
            exclude_classes=self.exclude_classes,
            cache_dir=self.cache_dir,
            progress=False,
        )
        self._fully_initialized = True

    def get_cat_ids(self, idx: int) -> List[int]:
        """Sorted class ids present in the label map of image ``idx``.

        Args:
            idx (int): Image index (negative counts from the end).

        Returns:
            List[int]: Class ids (indices into ``metainfo['classes']``).
        """
        self.full_init()
        return [int(c) for c in self.index.image_classes[idx]]

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's data info of image ``idx``."""
        self.full_init()
        return self.dataset.get_data_info(idx)

    def __getitem__(self, idx: int) -> dict:
        self.full_init()
        return self.dataset[idx]

    def __len__(self) -> int:
        self.full_init()
        return len(self.dataset)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(dataset={type(self.dataset).__name__}, '
            f'ignore_index={self.ignore_index}, '
            f'exclude_classes={self.exclude_classes})'
        )
