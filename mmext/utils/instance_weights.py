"""The rule of the per-object mixup loss weights (Bag of Freebies Sec. 3.1, "weighted loss").

``mmext.CoherentMixUp`` writes one loss weight per box (``results['gt_weights']``),
``mmext.PackDetInputsWithWeights`` packs them into ``gt_instances.weights`` and the weighted
heads multiply the per-object losses by them. At every step the weights must be one finite,
non-negative value per box: a NaN weight would silently turn the loss into NaN.

:func:`annotation_weight` is the one reader of a weight written in an annotation file
(``mmext.LoadInstanceWeights``): only numbers are weights, a string, boolean, ``null`` or list
is an error naming the image, the annotation and the field.

The heads check the weights of every image at every step: for CUDA tensors the check is a
device-side assert (``torch._assert_async``), which reads nothing back to the host, so the
training step does not wait for the GPU; CPU tensors (and numpy arrays) are checked eagerly
with a ``ValueError`` showing the weights.
"""

import math
import numbers
from typing import Any, Union

import numpy as np
import torch
from torch import Tensor


def _checked_on_host(weights: Tensor) -> bool:
    """Whether a weight tensor is checked eagerly: CPU tensors (reading them costs no sync)."""
    return weights.device.type == 'cpu'


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
            negative or non-finite value (for a CUDA tensor the values are checked by a
            device-side assert instead: a violation aborts at a later kernel launch with this
            message, without the values).
    """
    shape = tuple(weights.shape)
    if len(shape) != 1 or shape[0] != num_boxes:
        raise ValueError(
            f'{name} must have shape ({num_boxes},) (one entry per box; '
            f'{num_boxes} boxes), got {shape}{hint}'
        )
    if isinstance(weights, Tensor):
        if weights.numel() == 0 or weights.device.type == 'meta':
            return
        # NaN fails both comparisons, +inf the second, a negative value the first
        ok = ((weights >= 0) & (weights < float('inf'))).all()
        if not _checked_on_host(weights):
            message = f'{name} must be finite and >= 0'
            try:
                torch._assert_async(ok, message)
            except (TypeError, NotImplementedError):  # no message overload / device kernel
                torch._assert_async(ok)
            return
        bad = not bool(ok)
    else:
        bad = not bool(np.all(np.isfinite(weights))) or bool(np.any(weights < 0))
    if bad:
        raise ValueError(f'{name} must be finite and >= 0, got {weights}')


def annotation_weight(value: Any, where: str, field: str = 'weight') -> float:
    """The loss weight ``value`` of one annotation as a float, if it is a valid weight.

    Only real numbers (Python or numpy ints and floats) are weights: a string (even
    ``"0.5"``), a boolean, ``None`` (json ``null``) or a list is rejected rather than
    converted, as are NaN, infinities and negative values.

    Args:
        value (Any): The annotation's field, as the annotation file holds it.
        where (str): Which annotation it is, for the message (e.g. ``'a.png (image id 3),
            annotation id 7'``).
        field (str): The field's name, for the message. Defaults to ``'weight'``.

    Returns:
        float: The weight.

    Raises:
        ValueError: If ``value`` is not a number, or is not finite and >= 0; the message
            names ``where`` and ``field``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(
            f'{where}: field {field!r} must be a number (a finite loss weight >= 0), got '
            f'{value!r} of type {type(value).__name__}; strings, booleans, null and lists '
            'are not weights: write the number itself in the annotation file'
        )
    weight = float(value)
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f'{where}: field {field!r} must be finite and >= 0, got {value!r}')
    return weight
