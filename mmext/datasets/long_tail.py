"""The long-tail profile and per-class counts of the long-tailed dataset recipe.

Class ``k`` of ``K`` keeps ``floor(n_max * imbalance_ratio ** (-k / (K - 1)))`` samples
(long-tailed CIFAR, Cui et al. 2019 and Cao et al. 2019; the ICU paper's Table 2): class 0
keeps ``n_max``, class ``K - 1`` keeps ``n_max / imbalance_ratio``. Shared by
:class:`~mmext.datasets.LongTailSubset`, the offline digits builders and the ICU MNIST
experiment.
"""

import math

import numpy as np


def check_ratio(imbalance_ratio: float) -> None:
    """Raise a ValueError unless ``imbalance_ratio`` is a finite number >= 1."""
    if (
        isinstance(imbalance_ratio, bool)
        or not isinstance(imbalance_ratio, (int, float, np.number))
        or not math.isfinite(imbalance_ratio)
        or imbalance_ratio < 1
    ):
        raise ValueError(
            f'imbalance_ratio must be a finite number >= 1 (1 = balanced), got {imbalance_ratio!r}'
        )


def long_tail_profile(imbalance_ratio: float, num_classes: int = 10) -> np.ndarray:
    """Relative class frequencies ``f_k = ratio ** (-k / (K - 1))`` (head = 1).

    Args:
        imbalance_ratio (float): ``f_0 / f_{K-1}``, at least 1.
        num_classes (int): ``K``. Defaults to 10 (the digits).

    Returns:
        np.ndarray: float64 ``(K,)`` profile, decreasing from 1 to ``1 / ratio``.
    """
    check_ratio(imbalance_ratio)
    k = np.arange(num_classes, dtype=np.float64)
    return float(imbalance_ratio) ** (-k / max(num_classes - 1, 1))


def long_tail_counts(
    max_per_class: int, imbalance_ratio: float, num_classes: int = 10
) -> np.ndarray:
    """Samples kept per class: ``floor(max_per_class * f_k)`` (see :func:`long_tail_profile`).

    A ``1e-9`` is added before the floor so that a count that is an integer in exact
    arithmetic (e.g. ``5000 * 100 ** -1 = 50``) is not lost to rounding.

    Args:
        max_per_class (int): ``n_max``, the count of class 0.
        imbalance_ratio (float): Count of class 0 / count of class K-1 (>= 1).
        num_classes (int): ``K``. Defaults to 10.

    Returns:
        np.ndarray: int64 ``(K,)`` counts (possibly 0 for the tail; callers check).
    """
    profile = long_tail_profile(imbalance_ratio, num_classes)
    return np.floor(max_per_class * profile + 1e-9).astype(np.int64)
