"""The empty-batch policy shared by every mmext loss.

A batch without samples (``N = 0``: no image left after filtering, no RoI, a rank that got
no sample) must neither stop training nor poison it. Every mmext loss therefore returns, for
``N = 0``:

* reductions ``'mean'`` and ``'sum'``: :func:`empty_batch_loss`, the zero
  ``cls_score.sum() * 0``. It is connected to the graph, so ``backward`` runs and every
  parameter that produced ``cls_score`` gets a zero gradient (DDP sees it used); it is never
  NaN (no ``0 / 0`` mean) and never a shape error;
* reduction ``'none'``: the tensor of that reduction's shape for ``N = 0`` (empty, or zeros
  for a per-class shape), connected to the graph in the same way.

Half-precision inputs give a float32 zero, as the losses compute in float32 for them.
"""

from typing import Optional, Sequence

import torch
from torch import Tensor


def empty_batch_loss(
    cls_score: Tensor, dtype: Optional[torch.dtype] = None, shape: Optional[Sequence[int]] = None
) -> Tensor:
    """The loss of an empty batch: ``cls_score.sum() * 0`` (see the module docstring).

    Args:
        cls_score (Tensor): The loss input of the empty batch (logits, distances).
        dtype (torch.dtype, optional): The loss dtype. Defaults to float32 for float16 and
            bfloat16 inputs and to ``cls_score.dtype`` otherwise.
        shape (Sequence[int], optional): The shape of the ``'none'`` reduction; None for a
            scalar.

    Returns:
        Tensor: Zeros of ``shape`` (a scalar when None) that keep the graph.
    """
    if dtype is None:
        dtype = (
            torch.float32 if cls_score.dtype in (torch.float16, torch.bfloat16) else cls_score.dtype
        )
    zero = cls_score.sum().to(dtype) * 0
    if shape is None:
        return zero
    return zero + zero.new_zeros(tuple(shape))
