"""The host-loss contract shared by every mmext loss, as every OpenMMLab host has it.

* :func:`check_reduction` / :func:`resolve_reduction`: ``reduction`` is one of
  :data:`REDUCTIONS`; ``reduction_override`` (None keeps the constructor's) replaces it.
* :func:`check_loss_name` / :class:`LossNameMixin`: mmseg sums the losses whose key starts
  with ``loss_`` and reads it from the ``loss_name`` property.
* :func:`weight_reduce_loss`: an element-wise weight, then OpenMMLab's reduction rules
  (mmdet/mmseg ``weight_reduce_loss``): ``'mean'`` divides the sum by ``avg_factor`` when
  it is given, by the number of elements otherwise.
* :func:`check_class_labels`: integer labels lie in ``[0, C)`` (``[0, C]`` where ``C`` is a
  background label) or equal ``ignore_index``; an eager ``ValueError`` naming the offending
  values on CPU, a device-side assert (no host synchronisation) on accelerators.
* :func:`check_finite_number`: a hyper-parameter is a finite real number (not a bool) within
  its bounds, else a ``ValueError`` naming it.
* :func:`constant_tensor`: a per-class constant (``class_weight``, ``alpha``) as a tensor on
  the logits' device, copied there once: ``new_tensor`` at every step is a host-to-device
  copy, which CUDA makes synchronous (the host waits for the GPU).
"""

import functools
import math
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

#: The reductions of OpenMMLab losses.
REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(
    reduction: str, allowed: Sequence[str] = REDUCTIONS, arg: str = 'reduction'
) -> str:
    """Return ``reduction`` if it is one of ``allowed``, else raise.

    Args:
        reduction (str): The reduction to check.
        allowed (Sequence[str]): The accepted reductions. Defaults to :data:`REDUCTIONS`.
        arg (str): The argument name used in the error message.

    Returns:
        str: ``reduction``.

    Raises:
        ValueError: If ``reduction`` is not in ``allowed``.
    """
    if reduction not in tuple(allowed):
        raise ValueError(f'{arg} must be one of {tuple(allowed)}, got {reduction!r}')
    return reduction


def resolve_reduction(
    reduction: str, reduction_override: Optional[str], allowed: Sequence[str] = REDUCTIONS
) -> str:
    """The reduction of one call: ``reduction_override`` when given, else ``reduction``.

    Args:
        reduction (str): The loss's own reduction (checked by the constructor).
        reduction_override (str, optional): The call's override; None (or an empty string,
            as mmdet passes) keeps ``reduction``.
        allowed (Sequence[str]): The accepted reductions. Defaults to :data:`REDUCTIONS`.

    Returns:
        str: The reduction to apply.

    Raises:
        ValueError: If ``reduction_override`` is given and not in ``allowed``.
    """
    if reduction_override is None or reduction_override == '':
        return reduction
    return check_reduction(reduction_override, allowed, 'reduction_override')


def check_loss_name(loss_name: str) -> str:
    """Return ``loss_name`` if it starts with ``loss_`` (mmseg's contract), else raise.

    Args:
        loss_name (str): Key of the loss in the losses dict.

    Returns:
        str: ``loss_name``.

    Raises:
        ValueError: If ``loss_name`` does not start with ``loss_``.
    """
    if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
        raise ValueError(f"loss_name must start with 'loss_', got {loss_name!r}")
    return loss_name


class LossNameMixin:
    """The ``loss_name`` property of mmseg losses, set once by :meth:`_set_loss_name`."""

    _loss_name: str

    def _set_loss_name(self, loss_name: str) -> None:
        """Check (see :func:`check_loss_name`) and store the name of the loss item."""
        self._loss_name = check_loss_name(loss_name)

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the losses dict (starts with ``loss_``)."""
        return self._loss_name


def weight_reduce_loss(
    loss: Tensor,
    weight: Optional[Tensor] = None,
    reduction: str = 'mean',
    avg_factor: Optional[float] = None,
) -> Tensor:
    """Weight an element-wise loss and reduce it with OpenMMLab's rules.

    ``'mean'`` divides the (weighted) sum by ``avg_factor`` when given (plus float32 eps,
    so an all-ignored batch gives 0, not NaN), otherwise takes the mean of the elements;
    ``'sum'`` with ``avg_factor`` is an error; ``'none'`` returns the weighted loss.

    Args:
        loss (Tensor): Element-wise loss.
        weight (Tensor, optional): Element-wise weight, broadcastable to ``loss``; cast to
            ``loss.dtype``.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        avg_factor (float, optional): Normaliser of the ``'mean'`` reduction.

    Returns:
        Tensor: The reduced loss (the shape of ``loss`` for ``'none'``).

    Raises:
        ValueError: For an unknown ``reduction`` or ``avg_factor`` with ``'sum'``.
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * weight.to(loss.dtype)
    if reduction == 'none':
        return loss
    if avg_factor is None:
        return loss.mean() if reduction == 'mean' else loss.sum()
    if reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"')
    return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)


def _checked_on_host(label: Tensor) -> bool:
    """Whether labels are checked eagerly: CPU tensors (reading them costs no device sync)."""
    return label.device.type == 'cpu'


def checked_on_host(tensor: Tensor) -> bool:
    """Whether a check may read ``tensor``'s values on the host (CPU tensors: no device sync).

    The one switch of every mmext check that reads values eagerly on CPU and must not read
    them back from an accelerator (:func:`check_class_labels`, heads' sanity checks); the
    host-sync tests turn it off to run the accelerator branch on CPU tensors.

    Args:
        tensor (Tensor): The tensor to check.

    Returns:
        bool: True for CPU tensors.
    """
    return _checked_on_host(tensor)


def _label_rule(num_classes: int, ignore_index: Optional[int], background: bool) -> str:
    """The allowed label values in words, e.g. ``[0, 4) or ignore_index=255``."""
    if background:
        rule = f'[0, {num_classes}] ({num_classes} = background)'
    else:
        rule = f'[0, {num_classes})'
    return rule if ignore_index is None else f'{rule} or equal ignore_index={ignore_index}'


def check_class_labels(
    label: Tensor,
    num_classes: int,
    ignore_index: Optional[int] = None,
    background: bool = False,
    name: str = 'labels',
) -> None:
    """Check that integer labels are class indices (or ``ignore_index``), without host sync.

    The allowed values are ``[0, num_classes)`` (``[0, num_classes]`` with ``background``:
    mmdet's sigmoid heads pass ``num_classes`` for background) and ``ignore_index``. Where
    the check runs depends on the device of ``label``:

    * CPU: eagerly; a ``ValueError`` gives the allowed range and the offending values.
    * Any other device (CUDA): ``torch._assert_async(ok, message)``, a device-side assert
      that reads nothing back to the host, so the training step does not synchronise. A
      violation aborts at a later kernel launch (``RuntimeError`` / device-side assert
      carrying the message with the allowed range; the values are not known on the host).
      Where the message overload or the device kernel is missing, the no-message form is
      used.
    * ``meta`` tensors hold no values: no check.

    Args:
        label (Tensor): Integer labels, any shape.
        num_classes (int): Number of classes ``C``.
        ignore_index (int, optional): A further allowed value (ignored elements).
        background (bool): Also allow ``C`` (the background label). Defaults to False.
        name (str): What the labels are called in the message. Defaults to ``'labels'``.

    Raises:
        ValueError: On CPU, when a label is outside the allowed values.
    """
    if label.numel() == 0 or label.device.type == 'meta':
        return
    upper = num_classes + 1 if background else num_classes
    bad = (label < 0) | (label >= upper)
    if ignore_index is not None:
        bad = bad & (label != ignore_index)
    rule = _label_rule(num_classes, ignore_index, background)
    if _checked_on_host(label):
        if bool(bad.any()):
            values = torch.unique(label[bad]).tolist()
            shown = values[:10] + (['...'] if len(values) > 10 else [])
            raise ValueError(
                f'{name} must lie in {rule}; got out-of-range values '
                f'[{", ".join(str(v) for v in shown)}] ({int(bad.sum())} elements)'
            )
        return
    ok = ~bad.any()
    try:
        torch._assert_async(ok, f'{name} must lie in {rule}')
    except (TypeError, NotImplementedError):  # no message overload / kernel on this device
        torch._assert_async(ok)


def check_finite_number(
    name: str,
    value: float,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds, else raise.

    NaN fails every comparison, so a plain ``value < 0`` check lets it through; this
    helper rejects NaN and +-inf first. Booleans are not numbers here (``True`` is not a
    margin).

    Args:
        name (str): The parameter name used in the messages.
        value (float): The value (an int, float or numpy real).
        low (float, optional): Lower bound; None for none.
        high (float, optional): Upper bound; None for none.
        low_inclusive (bool): Whether ``value == low`` is allowed. Defaults to True.
        high_inclusive (bool): Whether ``value == high`` is allowed. Defaults to True.

    Returns:
        float: ``float(value)``.

    Raises:
        TypeError: If ``value`` is not a real number or is a bool.
        ValueError: If ``value`` is NaN, infinite or out of bounds.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'invalid {name}={value!r}: expected a real number, not {type(value).__name__}'
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'invalid {name}={value}: expected a finite number')
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = '>=' if low_inclusive else '>'
        raise ValueError(f'invalid {name}={value}: expected {name} {op} {low:g}')
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = '<=' if high_inclusive else '<'
        raise ValueError(f'invalid {name}={value}: expected {name} {op} {high:g}')
    return value


@functools.lru_cache(maxsize=256)
def _device_constant(values: Tuple[float, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    with torch.inference_mode(False):  # a normal tensor even if first made under inference
        return torch.tensor(values, dtype=dtype, device=device)


def constant_tensor(
    values: Sequence[float], like: Tensor, dtype: Optional[torch.dtype] = None
) -> Tensor:
    """``like.new_tensor(values)``, copied to ``like``'s device once and then reused.

    A tensor made from Python numbers on a CUDA device is a host-to-device copy with
    ``non_blocking=False``, i.e. a stream synchronisation at every training step; the
    per-class constants of the losses are therefore made once per (values, dtype, device)
    and cached (a bounded cache of small tensors). The result is shared: do not modify it in
    place.

    Args:
        values (Sequence[float]): The numbers (e.g. one per class).
        like (Tensor): Gives the device (and the dtype unless ``dtype`` is given).
        dtype (torch.dtype, optional): The dtype. Defaults to ``like.dtype``.

    Returns:
        Tensor: 1-D, ``len(values)`` entries, without gradient.
    """
    values = tuple(float(v) for v in values)
    return _device_constant(values, dtype or like.dtype, like.device)
