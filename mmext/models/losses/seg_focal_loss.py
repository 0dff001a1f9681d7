"""Sigmoid focal loss for semantic segmentation that runs on CPU and GPU alike.

Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, Eq. (5) (the
alpha-balanced focal loss), used as the "Focal loss" baseline of the TCE paper (Szabó,
Jamali-Rad and Mannava), Sec. 3: gamma = 2 and alpha set to the normalised inverse class
pixel frequency of the training set (``tools/analysis/class_pixel_frequency.py``).

Why not mmseg's ``FocalLoss(use_sigmoid=True)``: in mmseg 1.2.2 its non-CUDA branch one-hot
encodes the labels and then keeps the single column ``[:, num_classes]`` instead of the
slice ``[:, :num_classes]``, so on CPU ``py_sigmoid_focal_loss`` fails with a shape error
("The size of tensor a (C) must match the size of tensor b (num_pixels)"). Only its CUDA
branch (mmcv's ``sigmoid_focal_loss`` op) works. :class:`SegFocalLoss` computes the maths of
that CUDA branch with plain tensor ops, on the (N, C, H, W) logits directly.

Per pixel ``i`` and class ``c``, with ``x`` the logit, ``p = sigmoid(x)`` and ``t`` the
one-hot label over the C classes (Lin et al., Eq. 5, with ``p_t``/``alpha_t`` spelled out)::

    loss_ic = BCEWithLogits(x_ic, t_ic)
              * (alpha_c t_ic + (1 - alpha_c)(1 - t_ic))      # alpha_t
              * ((1 - p_ic) t_ic + p_ic (1 - t_ic)) ** gamma  # (1 - p_t) ** gamma
              * class_weight_c * weight_i * [label_i != ignore_index]

``alpha`` is a float (the same for every class) or a list of C floats. mmseg's CUDA path
gives the same numbers: with a list alpha it runs mmcv's op with alpha = 0.5, doubles it and
multiplies by ``alpha_t``. mmcv's kernel evaluates ``log(max(p, FLT_MIN))`` where this module
uses the (unclamped, stable) ``BCEWithLogits``; the two differ only for ``|x| > ~87``.

Reduction, exactly as mmseg's CUDA path (``weight_reduce_loss`` on the (num_pixels, C) loss
with ``valid_mask`` folded into the weight):

* ``'mean'`` without ``avg_factor``: the weighted sum divided by ``N * C * H * W``, the number
  of *all* (pixel, class) elements, ignored pixels included (they contribute 0 to the sum but
  still count in the denominator). It is not a mean over valid pixels.
* ``'mean'`` with ``avg_factor``: the weighted sum divided by
  ``avg_factor + finfo(float32).eps``.
* ``'sum'``: the weighted sum (``avg_factor`` with ``'sum'`` is a ValueError, as in mmseg).
* ``'none'``: the weighted per-pixel, per-class loss, shape (N, C, H, W) (0 at ignored
  pixels).

A label equal to ``C`` (not ``ignore_index``) is a valid pixel that is negative for every
class, as in mmseg's CUDA path (``one_hot(num_classes + 1)[:, :num_classes]``); other labels
outside ``[0, C]`` raise a ValueError.

Empty batch (``N = 0``): like every mmext loss (:mod:`mmext.models.losses.empty_batch`), a
zero connected to the graph (``cls_score.sum() * 0``; an empty tensor for ``'none'``).
Non-finite logits (NaN, +-inf),
ignored pixels included, give a non-finite loss: ``BCEWithLogits`` is NaN or inf there and
the zero weight of an ignored pixel does not mask it (``nan * 0 = nan``), as in mmseg.
float16/bfloat16 logits are computed (and returned) in float32.
"""

from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .utils import LossNameMixin, check_reduction, resolve_reduction, weight_reduce_loss


def seg_sigmoid_focal_loss(
    cls_score: Tensor,
    label: Tensor,
    weight: Optional[Tensor] = None,
    gamma: float = 2.0,
    alpha: Union[float, List[float]] = 0.5,
    class_weight: Optional[List[float]] = None,
    reduction: str = 'mean',
    avg_factor: Optional[Union[int, float]] = None,
    ignore_index: int = 255,
) -> Tensor:
    """Sigmoid focal loss (Lin et al. 2017, Eq. 5) of segmentation logits.

    See the module docstring for the formula and the (mmseg CUDA path) reduction.

    Args:
        cls_score (Tensor): Logits of shape (N, C, *spatial), e.g. (N, C, H, W).
        label (Tensor): Class indices of shape (N, *spatial) (or (N, 1, *spatial)).
        weight (Tensor, optional): Per-pixel weight of shape (N, *spatial) or per-element
            weight of the shape of ``cls_score``. Defaults to None.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float | list[float]): Weight of the positive term, one float or one per
            class. Defaults to 0.5.
        class_weight (list[float], optional): Per-class multiplier. Defaults to None.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        avg_factor (int | float, optional): Normaliser of the ``'mean'`` reduction.
            Defaults to None.
        ignore_index (int): Label of pixels that contribute nothing. Defaults to 255.

    Returns:
        Tensor: A scalar, or the (N, C, *spatial) loss for ``reduction='none'``.

    Raises:
        ValueError: on mismatched shapes, labels outside ``[0, C]`` (ignore_index aside),
            an alpha/class_weight list of the wrong length, an unknown reduction, or
            ``avg_factor`` with ``reduction='sum'``.
    """
    check_reduction(reduction)
    if cls_score.dim() < 2:
        raise ValueError(f'cls_score must be (N, C, *spatial), got {tuple(cls_score.shape)}')
    num_classes = cls_score.shape[1]
    if label.dim() == cls_score.dim() and label.shape[1] == 1:
        label = label[:, 0]
    if label.shape != cls_score.shape[:1] + cls_score.shape[2:]:
        raise ValueError(
            f'label shape {tuple(label.shape)} does not match cls_score '
            f'{tuple(cls_score.shape)} (expected (N, *spatial))'
        )
    for name, value in (('alpha', alpha), ('class_weight', class_weight)):
        if isinstance(value, (list, tuple)) and len(value) != num_classes:
            raise ValueError(
                f'{name} has {len(value)} entries, cls_score has {num_classes} classes'
            )
    if avg_factor is not None and reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"')

    if cls_score.shape[0] == 0 and reduction != 'none':
        return empty_batch_loss(cls_score)

    x = cls_score.float() if cls_score.dtype in (torch.float16, torch.bfloat16) else cls_score
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    if lab.numel() and bool(((lab < 0) | (lab > num_classes)).any()):
        raise ValueError(
            f'labels must lie in [0, {num_classes}] or equal '
            f'ignore_index={ignore_index}; got values in '
            f'[{int(label[valid].min())}, {int(label[valid].max())}]'
        )
    bshape = (1, num_classes) + (1,) * (x.dim() - 2)  # broadcast a per-class vector
    classes = torch.arange(num_classes, device=x.device).view(bshape)
    target = (lab.unsqueeze(1) == classes).to(x.dtype)

    p = torch.sigmoid(x)
    one_minus_pt = (1 - p) * target + p * (1 - target)
    if isinstance(alpha, (list, tuple)):
        alpha = x.new_tensor(alpha).view(bshape)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    loss = (
        F.binary_cross_entropy_with_logits(x, target, reduction='none')
        * alpha_t
        * one_minus_pt.pow(gamma)
    )

    final_weight = valid.unsqueeze(1).to(x.dtype)
    if class_weight is not None:
        final_weight = final_weight * x.new_tensor(class_weight).view(bshape)
    if weight is not None:
        if weight.shape == label.shape:
            weight = weight.unsqueeze(1)
        elif weight.shape != x.shape:
            raise ValueError(
                f'weight shape {tuple(weight.shape)} is neither the label '
                f'shape {tuple(label.shape)} nor the cls_score shape'
            )
        final_weight = final_weight * weight.to(x.dtype)
    return weight_reduce_loss(loss, final_weight, reduction, avg_factor)


@MODELS.register_module()
class SegFocalLoss(LossNameMixin, nn.Module):
    """CPU/GPU drop-in for mmseg's ``FocalLoss(use_sigmoid=True)`` on segmentation logits.

    Same maths and reduction as mmseg's CUDA path (see the module docstring); config:
    ``dict(type='mmext.SegFocalLoss', gamma=2.0, alpha=[...], loss_weight=1.0)``.

    Args:
        gamma (float): Focusing parameter of Lin et al. (2017), Eq. 5. Defaults to 2.0.
        alpha (float | list[float]): Positive-term weight, one float or one per class (the
            TCE paper uses the normalised inverse class pixel frequency, Sec. 3). Each
            value should lie in [0, 1]. Defaults to 0.5.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        class_weight (list[float], optional): Per-class multiplier. Defaults to None.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the losses dict; must start with ``loss_`` to
            be back-propagated by mmseg. Defaults to ``'loss_focal'``.
        ignore_index (int): Label that contributes nothing; the ``ignore_index`` passed to
            :meth:`forward` (mmseg's decode heads pass theirs) takes precedence.
            Defaults to 255.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: Union[float, List[float]] = 0.5,
        reduction: str = 'mean',
        class_weight: Optional[List[float]] = None,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_focal',
        ignore_index: int = 255,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if isinstance(alpha, (list, tuple)):
            alpha = [float(a) for a in alpha]
        elif isinstance(alpha, (int, float)):
            alpha = float(alpha)
        else:
            raise TypeError(f'alpha must be a float or a list of floats, got {type(alpha)}')
        if class_weight is not None:
            class_weight = [float(w) for w in class_weight]
        self._set_loss_name(loss_name)
        self.gamma = float(gamma)
        self.alpha = alpha
        self.reduction = reduction
        self.class_weight = class_weight
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[Union[int, float]] = None,
        reduction_override: Optional[str] = None,
        ignore_index: Optional[int] = None,
        **kwargs,
    ) -> Tensor:
        """Compute ``loss_weight`` times the focal loss.

        Args:
            cls_score (Tensor): Logits of shape (N, C, *spatial).
            label (Tensor): Class indices of shape (N, *spatial).
            weight (Tensor, optional): Per-pixel (N, *spatial) or per-element weight.
            avg_factor (int | float, optional): Normaliser of the mean reduction.
            reduction_override (str, optional): Overrides ``reduction``.
            ignore_index (int, optional): Overrides ``ignore_index`` of the constructor.
            **kwargs: Ignored (host heads may pass extra keys).

        Returns:
            Tensor: The loss (a scalar, or (N, C, *spatial) for ``'none'``).
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        if ignore_index is None:
            ignore_index = self.ignore_index
        return self.loss_weight * seg_sigmoid_focal_loss(
            cls_score,
            label,
            weight,
            gamma=self.gamma,
            alpha=self.alpha,
            class_weight=self.class_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            ignore_index=ignore_index,
        )

    def extra_repr(self) -> str:
        """str: The hyper-parameters, for ``print(model)``."""
        alpha = self.alpha if isinstance(self.alpha, float) else f'[{len(self.alpha)} floats]'
        return (
            f'gamma={self.gamma}, alpha={alpha}, reduction={self.reduction!r}, '
            f'loss_weight={self.loss_weight}, ignore_index={self.ignore_index}'
        )
