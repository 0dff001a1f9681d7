"""Where :class:`~mmext.datasets.transforms.coherent_mixup.CoherentMixUp` gets its partner image.

Two sources, as in mmdet: the wrapped dataset of ``MultiImageMixDataset`` (``get_indexes``
draws an index, the wrapper loads it into ``results['mix_results']``), or a cache of recently
loaded samples kept by the transform itself (mmdet's ``CachedMixUp`` idea), which works in a
plain dataset pipeline. In both, the partner is never the sample itself.
"""

import copy
from typing import Any, List, Optional, Sequence

import numpy as np


def sample_identity(results: dict) -> Optional[Any]:
    """What identifies the image of a sample: ``sample_idx`` (mmengine datasets), else
    ``img_path``, else ``img_id``; None when none of them is present."""
    for key in ('sample_idx', 'img_path', 'img_id'):
        if key in results:
            return key, results[key]
    return None


def same_image(a: dict, b: dict) -> bool:
    """Whether two samples hold the same image (same identity key and value)."""
    ida = sample_identity(a)
    return ida is not None and ida == sample_identity(b)


class PartnerCache:
    """A bounded cache of loaded samples to draw mixup partners from.

    Every sample that passes through is stored (a deep copy, without ``mix_results``) before
    it is mixed, so partners are always unmixed images. Beyond ``max_cached_images`` one entry
    is dropped: a random one (``random_pop=True``, as mmdet's ``CachedMixUp``) or the oldest.
    Each dataloader worker holds its own cache (the transform is copied into every worker).

    Args:
        max_cached_images (int): Cache size, >= 2 (one slot is the current sample).
        random_pop (bool): Drop a random entry instead of the oldest. Defaults to True.
    """

    def __init__(self, max_cached_images: int, random_pop: bool = True) -> None:
        if int(max_cached_images) < 2:
            raise ValueError(f'max_cached_images must be >= 2, got {max_cached_images}')
        self.max_cached_images = int(max_cached_images)
        self.random_pop = bool(random_pop)
        self.entries: List[dict] = []

    def push(self, results: dict) -> None:
        """Store a copy of ``results`` (its ``mix_results`` left out)."""
        entry = {k: v for k, v in results.items() if k != 'mix_results'}
        self.entries.append(copy.deepcopy(entry))
        if len(self.entries) > self.max_cached_images:
            drop = np.random.randint(0, len(self.entries)) if self.random_pop else 0
            self.entries.pop(drop)

    def draw(self, results: dict) -> Optional[dict]:
        """A copy of a random cached sample that is not ``results``'s image; None if none."""
        candidates = [e for e in self.entries if not same_image(e, results)]
        if not candidates:
            return None
        return copy.deepcopy(candidates[np.random.randint(0, len(candidates))])


def draw_other_index(dataset: Sequence, results: dict) -> Optional[dict]:
    """Load a uniformly drawn sample of ``dataset`` other than ``results``'s own index.

    Used when ``MultiImageMixDataset`` handed the sample itself as its partner
    (``get_indexes`` cannot see the current index). Returns None for a one-image dataset.
    """
    own = results.get('sample_idx', None)
    num = len(dataset)
    if own is None or num < 2:
        return None
    j = np.random.randint(0, num - 1)
    j += int(j >= own)
    return copy.deepcopy(dataset[j])
