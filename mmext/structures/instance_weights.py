"""The per-object loss weight contract (Bag of Freebies Sec. 3.1, "weighted loss").

Every detection object may carry one loss weight. The weights travel under two names:

- :data:`GT_WEIGHTS_KEY` (``'gt_weights'``) in a pipeline sample (``results``): a float32
  numpy vector written by ``mmext.CoherentMixUp`` (the blending ratio of each object's image)
  or ``mmext.LoadInstanceWeights`` (read from the annotation file) and kept aligned with the
  boxes by ``mmext.KeepInstanceWeights``; :func:`read_gt_weights` reads it.
- :data:`INSTANCE_WEIGHTS_FIELD` (``'weights'``) of ``gt_instances`` /
  ``ignored_instances`` after ``mmext.PackDetInputsWithWeights``: a float32 tensor the
  weighted heads multiply the per-object losses by; :func:`get_gt_weights` reads it.

At every step the weights must be one finite, non-negative value per box
(:func:`check_instance_weights`): a NaN weight would silently turn the loss into NaN.
:func:`annotation_weight` is the one reader of a weight written in an annotation file: only
numbers are weights, a string, boolean, ``null`` or list is an error naming the image, the
annotation and the field.

The heads check the weights of every image at every step: for CUDA tensors the check is a
device-side assert (``torch._assert_async``), which reads nothing back to the host, so the
training step does not wait for the GPU; CPU tensors (and numpy arrays) are checked eagerly
with a ``ValueError`` showing the weights.
"""

import math
import numbers
from typing import Any, Optional, Union

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

#: Key of the per-object weights in a pipeline sample (``results``).
GT_WEIGHTS_KEY = 'gt_weights'
#: Field of the per-object weights in packed ``gt_instances`` / ``ignored_instances``.
INSTANCE_WEIGHTS_FIELD = 'weights'


def _checked_on_host(weights: Tensor) -> bool:
    """Whether a weight tensor is checked eagerly: CPU tensors (reading them costs no sync).

    Args:
        weights (Tensor): The weights to check.

    Returns:
        bool: True for CPU tensors, False for device tensors (device-side assert).
    """
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


def num_boxes(results: dict) -> int:
    """The number of objects of a pipeline sample (0 when it carries no ``gt_bboxes``).

    Args:
        results (dict): A detection sample.

    Returns:
        int: ``len(results['gt_bboxes'])``, or 0.
    """
    boxes = results.get('gt_bboxes', None)
    return 0 if boxes is None else len(boxes)


def read_gt_weights(results: dict) -> np.ndarray:
    """``results['gt_weights']`` of a pipeline sample, checked; ones when absent.

    Args:
        results (dict): A detection sample (``gt_bboxes`` give the number of boxes).

    Returns:
        np.ndarray: float32 ``(num_boxes,)`` weights.

    Raises:
        ValueError: if its length differs from the number of boxes, or it holds negative or
            non-finite values (:func:`check_instance_weights`).
    """
    num = num_boxes(results)
    if GT_WEIGHTS_KEY not in results:
        return np.ones(num, dtype=np.float32)
    weights = np.asarray(results[GT_WEIGHTS_KEY], dtype=np.float32).reshape(-1)
    check_instance_weights(
        weights,
        num,
        f'results["{GT_WEIGHTS_KEY}"]',
        hint=': a transform between CoherentMixUp and the pack step dropped or added boxes '
        'without updating gt_weights; wrap it in mmext.KeepInstanceWeights.',
    )
    return weights


def get_gt_weights(gt_instances: InstanceData) -> Optional[Tensor]:
    """Return ``gt_instances.weights`` (per-object loss weights) checked, or None.

    The weights are written by ``mmext.CoherentMixUp`` (or ``mmext.LoadInstanceWeights``) and
    packed by ``mmext.PackDetInputsWithWeights`` (Bag of Freebies Sec. 3.1, Table 1 "weighted
    loss").

    Args:
        gt_instances (InstanceData): Ground truth of one image.

    Returns:
        Tensor | None: float weights of shape (num_gts,), or None when the field is absent.

    Raises:
        ValueError: if the weights do not have one entry per box, or hold negative / non-finite
            values (a NaN weight would silently turn the loss into NaN).
    """
    if INSTANCE_WEIGHTS_FIELD not in gt_instances:
        return None
    weights = gt_instances.get(INSTANCE_WEIGHTS_FIELD)
    check_instance_weights(
        weights, len(gt_instances.bboxes), f'gt_instances.{INSTANCE_WEIGHTS_FIELD}'
    )
    return weights
