"""Per-image class index in CSR form (the data structure of :mod:`.class_index`).

:class:`ClassIndex` answers "which classes occur in image ``i``" and "which images hold
class ``c``" for the class-aware samplers; :func:`~.class_index.build_class_index` builds it
from a dataset.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np


class ClassIndex:
    """Sorted class ids of every image of a dataset, in CSR form.

    Args:
        offsets (np.ndarray): ``(num_images + 1,)`` int64; the classes of image ``i`` are
            ``classes[offsets[i]:offsets[i + 1]]``.
        classes (np.ndarray): Concatenated sorted class ids (int64).
        num_classes (int): Number of classes of the dataset (``len(metainfo['classes'])``).
    """

    def __init__(self, offsets: np.ndarray, classes: np.ndarray, num_classes: int) -> None:
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.classes = np.asarray(classes, dtype=np.int64)
        self.num_classes = int(num_classes)
        if (
            self.offsets.ndim != 1
            or len(self.offsets) < 1
            or self.offsets[0] != 0
            or self.offsets[-1] != len(self.classes)
        ):
            raise ValueError('offsets must start at 0 and end at len(classes)')
        if len(self.classes) and (self.classes.min() < 0 or self.classes.max() >= self.num_classes):
            raise ValueError(
                f'class ids must lie in [0, {self.num_classes}), got '
                f'[{self.classes.min()}, {self.classes.max()}]'
            )
        self._image_classes: Optional[List[np.ndarray]] = None
        self._by_class: Optional[Tuple[np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def image_classes(self) -> List[np.ndarray]:
        """List[np.ndarray]: Sorted class ids of each image."""
        if self._image_classes is None:
            self._image_classes = np.split(self.classes, self.offsets[1:-1])
        return self._image_classes

    def image_ids(self) -> np.ndarray:
        """Image id of every entry of :attr:`classes` (same length).

        Returns:
            np.ndarray: int64 array, ``image_ids()[k]`` owns ``classes[k]``.
        """
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))

    def images_of_class(self, c: int) -> np.ndarray:
        """Images containing class ``c``.

        Args:
            c (int): Class id.

        Returns:
            np.ndarray: Sorted int64 image ids.
        """
        if self._by_class is None:
            order = np.argsort(self.classes, kind='stable')
            starts = np.searchsorted(self.classes[order], np.arange(self.num_classes + 1))
            self._by_class = (self.image_ids()[order], starts)
        images, starts = self._by_class
        return images[starts[c] : starts[c + 1]]

    def class_counts(self) -> np.ndarray:
        """Number of images containing each class.

        Returns:
            np.ndarray: ``(num_classes,)`` int64 counts.
        """
        return np.bincount(self.classes, minlength=self.num_classes)

    def classes_present(self) -> np.ndarray:
        """Classes that occur in at least one image.

        Returns:
            np.ndarray: Sorted int64 class ids.
        """
        return np.flatnonzero(self.class_counts())

    def without(self, exclude: Sequence[int]) -> 'ClassIndex':
        """A copy with the classes in ``exclude`` removed from every image.

        Args:
            exclude (Sequence[int]): Class ids to drop.

        Returns:
            ClassIndex: The filtered index (same number of images).
        """
        if len(exclude) == 0:
            return self
        keep = ~np.isin(self.classes, np.asarray(list(exclude), dtype=np.int64))
        counts = np.bincount(self.image_ids()[keep], minlength=len(self))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return ClassIndex(offsets, self.classes[keep], self.num_classes)

    @classmethod
    def from_lists(cls, image_classes: Sequence[Sequence[int]], num_classes: int) -> 'ClassIndex':
        """Build an index from per-image class lists (duplicates are removed).

        Args:
            image_classes (Sequence[Sequence[int]]): Class ids of each image.
            num_classes (int): Number of classes.

        Returns:
            ClassIndex: The index.
        """
        rows = [np.unique(np.asarray(c, dtype=np.int64)) for c in image_classes]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in rows])
        classes = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        return cls(offsets, classes, num_classes)
