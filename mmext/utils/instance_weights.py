"""The rule of the per-object mixup loss weights (Bag of Freebies Sec. 3.1, "weighted loss").

``mmext.CoherentMixUp`` writes one loss weight per box (``results['gt_weights']``),
``mmext.PackDetInputsWithWeights`` packs them into ``gt_instances.weights`` and the weighted
heads multiply the per-object losses by them. At every step the weights must be one finite,
non-negative value per box: a NaN weight would silently turn the loss into NaN.
"""

from typing import Union

import numpy as np
import torch
from torch import Tensor


def check_instance_weights(
    weights: Union[np.ndarray, Tensor], num_boxes: int, name: str = 'gt_weights', hint: str = ''
) -> None:
    """Raise unless ``weights`` holds one finite, non-negative value per box.

    Args:
        weights (np.ndarray | Tensor): The per-object weights.
        num_boxes (int): The number of boxes of the image.
        name (str): How the weights are called in the error message.
        hint (str): Appended to the shape error (e.g. which transform to fix).

    Raises:
        ValueError: If ``weights`` is not a vector of ``num_boxes`` entries, or holds a
            negative or non-finite value.
    """
    shape = tuple(weights.shape)
    if len(shape) != 1 or shape[0] != num_boxes:
        raise ValueError(
            f'{name} must have shape ({num_boxes},) (one entry per box; '
            f'{num_boxes} boxes), got {shape}{hint}'
        )
    if isinstance(weights, Tensor):
        bad = not bool(torch.isfinite(weights).all()) or bool((weights < 0).any())
    else:
        bad = not bool(np.all(np.isfinite(weights))) or bool(np.any(weights < 0))
    if bad:
        raise ValueError(f'{name} must be finite and >= 0, got {weights}')
