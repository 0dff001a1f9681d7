"""The host-loss contract shared by every mmext loss, as every OpenMMLab host has it.

* :func:`check_reduction` / :func:`resolve_reduction`: ``reduction`` is one of
  :data:`REDUCTIONS`; ``reduction_override`` (None keeps the constructor's) replaces it.
* :func:`check_loss_name` / :class:`LossNameMixin`: mmseg sums the losses whose key starts
  with ``loss_`` and reads it from the ``loss_name`` property.
* :func:`weight_reduce_loss`: an element-wise weight, then OpenMMLab's reduction rules
  (mmdet/mmseg ``weight_reduce_loss``): ``'mean'`` divides the sum by ``avg_factor`` when
  it is given, by the number of elements otherwise.
"""

from typing import Optional, Sequence

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
