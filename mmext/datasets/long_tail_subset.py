"""Long-tailed subset of a classification dataset (the long-tailed CIFAR recipe)."""

import copy
from typing import List, Optional, Union

import numpy as np

from mmext.registry import DATASETS

from .long_tail import check_ratio, long_tail_counts


@DATASETS.register_module()
class LongTailSubset:
    """Keep ``floor(n_max * imbalance_ratio ** (-k / (K - 1)))`` samples of class ``k``.

    The recipe of long-tailed CIFAR-10/100 (Cui et al. 2019; Cao et al. 2019), used by the
    ICU paper's Table 2: class 0 keeps ``n_max`` samples (default: the size of the largest
    class), class ``K - 1`` keeps ``n_max / imbalance_ratio``, and the counts decay
    exponentially in between (CIFAR-10, ratio 100: 5000, 2997, ..., 50). Which samples of a
    class are kept is a seeded random choice; the kept indices are sorted so the subset
    keeps the wrapped dataset's order. Only the training split is meant to be wrapped.

    Args:
        dataset (dict | Dataset): The dataset (config) to subsample. It must provide
            ``get_gt_labels()`` (mmpretrain datasets) or ``get_cat_ids(idx)``.
        imbalance_ratio (float): Count of class 0 / count of class K-1 (>= 1).
        max_per_class (int, optional): ``n_max``. Defaults to the largest class size.
        seed (int): Seed of the per-class choice. Defaults to 0.
        lazy_init (bool): Defer loading and subsampling to :meth:`full_init`.
    """

    def __init__(
        self,
        dataset: Union[dict, object],
        imbalance_ratio: float,
        max_per_class: Optional[int] = None,
        seed: int = 0,
        lazy_init: bool = False,
    ) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.imbalance_ratio = float(imbalance_ratio)
        check_ratio(self.imbalance_ratio)
        if max_per_class is not None and max_per_class < 1:
            raise ValueError(f'max_per_class must be >= 1, got {max_per_class}')
        self.max_per_class = max_per_class
        self.seed = seed
        self.indices: List[int] = []
        self.class_counts: List[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """dict: meta information of the wrapped dataset."""
        return copy.deepcopy(self.dataset.metainfo)

    def _all_labels(self) -> np.ndarray:
        if hasattr(self.dataset, 'get_gt_labels'):
            return np.asarray(self.dataset.get_gt_labels(), dtype=np.int64)
        return np.asarray(
            [self.dataset.get_cat_ids(i)[0] for i in range(len(self.dataset))], dtype=np.int64
        )

    def full_init(self) -> None:
        """Load the wrapped dataset and choose the kept indices."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        labels = self._all_labels()
        classes = self.dataset.metainfo.get('classes') or ()
        num_classes = max(len(classes), int(labels.max()) + 1 if labels.size else 0)
        if num_classes < 2:
            raise ValueError('LongTailSubset needs a dataset with at least 2 classes')
        available = np.bincount(labels, minlength=num_classes)
        n_max = self.max_per_class or int(available.max())
        counts = long_tail_counts(n_max, self.imbalance_ratio, num_classes)
        short = np.flatnonzero(counts > available)
        if short.size:
            k = int(short[0])
            raise ValueError(
                f'LongTailSubset: class {k} needs {counts[k]} samples but '
                f'the dataset has {available[k]} (lower max_per_class)'
            )
        if counts.min() < 1:
            raise ValueError(
                f'imbalance_ratio={self.imbalance_ratio} leaves class '
                f'{num_classes - 1} empty with max_per_class={n_max}'
            )
        rng = np.random.default_rng(self.seed)
        keep = [
            rng.permutation(np.flatnonzero(labels == k))[: counts[k]] for k in range(num_classes)
        ]
        self.indices = np.sort(np.concatenate(keep)).tolist()
        self.class_counts = counts.tolist()
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return len(self.indices)

    def __getitem__(self, idx: int) -> dict:
        self.full_init()
        return self.dataset[self.indices[idx]]

    def get_data_info(self, idx: int) -> dict:
        """Annotation of the ``idx``-th kept sample."""
        self.full_init()
        return self.dataset.get_data_info(self.indices[idx])

    def get_cat_ids(self, idx: int) -> List[int]:
        """Category ids of the ``idx``-th kept sample."""
        self.full_init()
        return self.dataset.get_cat_ids(self.indices[idx])

    def get_gt_labels(self) -> np.ndarray:
        """Labels of all kept samples, in subset order."""
        self.full_init()
        return self._all_labels()[self.indices]
