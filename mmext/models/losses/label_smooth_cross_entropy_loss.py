"""Label-smoothed cross entropy for detection classification heads.

Bag of Freebies for Training Object Detection Neural Networks, section 3.2. The ground-truth
distribution ``q`` of the classification loss (Eq. 2) is replaced by

.. math:: q'_i = (1 - \\epsilon) q_i + \\frac{\\epsilon}{K}          \\qquad (3)

with ``K`` the number of classes of the logits. :class:`LabelSmoothCrossEntropyLoss` is a
drop-in replacement for mmdet's ``CrossEntropyLoss`` (same ``forward`` signature and
reduction rules; ``label_smooth_val=0`` reproduces it exactly), usable as ``loss_cls`` of
softmax heads (``Shared2FCBBoxHead``: ``K + 1`` logits with background last) and of sigmoid
heads (``YOLOV3Head``, which passes float one-hot targets).
"""

from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .utils import (
    LossNameMixin,
    check_class_labels,
    check_reduction,
    constant_tensor,
    resolve_reduction,
    weight_reduce_loss,
)

_SIGMOID_MODES = ('eq3', 'gluoncv')


def smooth_distribution(target: Tensor, eps: float, dim: int = 1) -> Tensor:
    """Eq. 3 for (soft) target distributions, mass preserving.

    ``q' = (1 - eps) * q + eps * m / K`` where ``m = sum(q)`` along ``dim``: a one-hot (or any
    probability) row gets exactly Eq. 3, a row weighted by ``m`` keeps its mass and an all-zero
    row (no target) stays all zero.

    Args:
        target (Tensor): Non-negative targets, classes along ``dim``.
        eps (float): Smoothing value :math:`\\epsilon` of Eq. 3.
        dim (int): Class dimension. Defaults to 1.

    Returns:
        Tensor: Smoothed targets, same shape.
    """
    num_classes = target.size(dim)
    mass = target.sum(dim=dim, keepdim=True)
    return (1.0 - eps) * target + (eps / num_classes) * mass


def sigmoid_smooth_coefficients(eps: float, num_classes: int, mode: str) -> Tuple[float, float]:
    """Coefficients ``(a, b)`` of the smoothed sigmoid target ``t' = a * t + b``.

    * ``'eq3'``: Eq. 3 applied to each binary target, ``t' = (1 - eps) t + eps / K``
      (positives ``1 - eps + eps / K``, negatives ``eps / K``); this equals mmdet's
      ``YOLOV3Head(one_hot_smoother=eps)``.
    * ``'gluoncv'``: "correcting the upper and lower limit of the range of targets"
      (section 3.2) as GluonCV's ``YOLOV3TargetMerger`` does: positives ``1 - eps``,
      negatives ``eps``, i.e. ``t' = (1 - 2 eps) t + eps``. GluonCV uses
      ``eps = min(1 / K, 1 / 40)`` (0.025 on VOC, 0.0125 on COCO).

    Args:
        eps (float): Smoothing value.
        num_classes (int): Number of sigmoid outputs ``K``.
        mode (str): ``'eq3'`` or ``'gluoncv'``.

    Returns:
        Tuple[float, float]: ``(a, b)``.
    """
    if mode == 'eq3':
        return 1.0 - eps, eps / num_classes
    if mode == 'gluoncv':
        return 1.0 - 2.0 * eps, eps
    raise ValueError(f'sigmoid_mode must be one of {_SIGMOID_MODES}, got {mode!r}')


@MODELS.register_module()
class LabelSmoothCrossEntropyLoss(LossNameMixin, nn.Module):
    """Cross entropy with label smoothing (Eq. 3), mmdet ``CrossEntropyLoss`` compatible.

    **Softmax** (``use_sigmoid=False``, classes along dim 1, ``K = cls_score.size(1)``):
    ``loss = -sum_c w_c q'_c log softmax(z)_c`` with ``q'`` of Eq. 3 and ``w`` the optional
    ``class_weight``.

    * Integer labels: ``q`` is the one-hot of the label. mmdet's bbox heads have ``K + 1``
      logits and pass ``label == num_classes`` (the last logit) for background RoIs; such
      rows are smoothed like any other row over all ``K + 1`` logits by default (background
      is one class of the softmax distribution, so Eq. 3 with ``K`` = number of logits
      applies unchanged; a zero background target would silence the background loss).
      ``smooth_background=False`` keeps the hard one-hot target on rows labelled with the
      last logit instead. Rows equal to ``ignore_index`` contribute 0, as in mmdet. Any
      other label outside ``[0, K)`` raises (see *Label checks* below).
    * Float targets of the same shape as ``cls_score`` (soft / mixed labels): mass-preserving
      Eq. 3 per row, ``q' = (1 - eps) q + eps * sum(q) / K`` (see
      :func:`smooth_distribution`); all-zero rows stay zero.

    **Sigmoid** (``use_sigmoid=True``, classes along the last dim, ``K = cls_score.size(-1)``):
    binary cross entropy on ``t' = a t + b`` (see :func:`sigmoid_smooth_coefficients` for
    ``sigmoid_mode``). Background stays background: the integer label ``K`` (mmdet passes
    ``num_classes``) gives an all-zero target row, and a float target row without any
    positive entry (e.g. non-positive anchors of ``YOLOV3Head``) is left at zero; only rows
    carrying an object are smoothed. Integer labels equal to ``ignore_index`` and float
    targets that are negative or equal to ``ignore_index`` get weight 0, as in mmdet; any
    other integer label outside ``[0, K]`` raises instead of silently becoming background
    (mmdet also ignores other negative labels: pass ``ignore_index=-1`` for that).

    **Label checks.** Integer labels outside the allowed values (softmax ``[0, K)``, sigmoid
    ``[0, K]``, plus ``ignore_index``) raise a ``ValueError`` giving the range and the
    offending values on CPU; on CUDA they trip a device-side assert without a host
    synchronisation (:func:`~mmext.models.losses.utils.check_class_labels`).

    **Precision.** float16/bfloat16 logits (a model cast with ``.half()``) are computed in
    float32 and give a float32 loss, like the other mmext losses: in float16 the smoothing
    term ``-sum_c log softmax(z)_c`` overflows to inf already at ``K = 1000`` logits.

    **No host synchronisation.** Nothing is read back to the host (label checks are
    device-side asserts on CUDA; ``avg_non_ignore`` keeps its count on the device), so a CUDA
    training step does not wait for the GPU.

    With ``label_smooth_val=0`` every path is numerically identical to mmdet's
    ``CrossEntropyLoss`` with the same arguments (float32 logits), except for empty batches:
    with ``N = 0`` or no element at all (e.g. logits ``(N, K, 0, 0)``) the ``'mean'`` and ``'sum'``
    reductions give a zero that keeps the graph (``cls_score.sum() * 0``, where mmdet's
    ``'mean'`` is NaN) and ``'none'`` an empty tensor, the policy of every mmext loss
    (:mod:`mmext.models.losses.empty_batch`).

    Args:
        label_smooth_val (float): :math:`\\epsilon` of Eq. 3, in ``[0, 1)`` (``[0, 0.5)`` for
            ``sigmoid_mode='gluoncv'``). Defaults to 0.1.
        use_sigmoid (bool): Sigmoid (binary) instead of softmax cross entropy.
            Defaults to False.
        sigmoid_mode (str): ``'eq3'`` or ``'gluoncv'``, sigmoid only. Defaults to ``'eq3'``.
        smooth_background (bool): Softmax with integer labels only: whether rows labelled
            with the last logit (mmdet's background) are smoothed. Defaults to True.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        class_weight (list[float], optional): Per-class weight (softmax) or ``pos_weight``
            (sigmoid), as in mmdet. Defaults to None.
        ignore_index (int, optional): Label to ignore. Defaults to None (-100).
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        avg_non_ignore (bool): Average only over non-ignored elements (mmdet semantics).
            Defaults to False.
        loss_name (str): Name of the loss item (mmseg contract). Defaults to ``'loss_cls'``.
    """

    def __init__(
        self,
        label_smooth_val: float = 0.1,
        use_sigmoid: bool = False,
        sigmoid_mode: str = 'eq3',
        smooth_background: bool = True,
        reduction: str = 'mean',
        class_weight: Optional[List[float]] = None,
        ignore_index: Optional[int] = None,
        loss_weight: float = 1.0,
        avg_non_ignore: bool = False,
        loss_name: str = 'loss_cls',
    ) -> None:
        super().__init__()
        if isinstance(label_smooth_val, bool) or not isinstance(label_smooth_val, (int, float)):
            raise TypeError(
                f'label_smooth_val must be a float, got {type(label_smooth_val).__name__}'
            )
        if sigmoid_mode not in _SIGMOID_MODES:
            raise ValueError(f'sigmoid_mode must be one of {_SIGMOID_MODES}, got {sigmoid_mode!r}')
        upper = 0.5 if (use_sigmoid and sigmoid_mode == 'gluoncv') else 1.0
        if not 0.0 <= float(label_smooth_val) < upper:
            raise ValueError(
                f'label_smooth_val must be in [0, {upper}) for '
                f'use_sigmoid={use_sigmoid}, sigmoid_mode={sigmoid_mode!r}; '
                f'got {label_smooth_val}'
            )
        self.label_smooth_val = float(label_smooth_val)
        self.use_sigmoid = use_sigmoid
        self.sigmoid_mode = sigmoid_mode
        self.smooth_background = smooth_background
        self.reduction = check_reduction(reduction)
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._set_loss_name(loss_name)

    def extra_repr(self) -> str:
        """Extra repr."""
        return (
            f'label_smooth_val={self.label_smooth_val}, use_sigmoid={self.use_sigmoid}, '
            f'sigmoid_mode={self.sigmoid_mode!r}, '
            f'smooth_background={self.smooth_background}, '
            f'avg_non_ignore={self.avg_non_ignore}'
        )

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
        """Compute the label-smoothed loss.

        Args:
            cls_score (Tensor): Logits, ``(N, K, ...)`` for softmax, ``(..., K)`` for sigmoid.
            label (Tensor): Integer labels (``(N, ...)``; ``(N,)`` for sigmoid) or float
                targets of the same shape as ``cls_score``.
            weight (Tensor, optional): Sample-wise (or element-wise) weight.
            avg_factor (int | float, optional): Normaliser of the mean reduction.
            reduction_override (str, optional): Overrides ``reduction``.
            ignore_index (int, optional): Overrides ``ignore_index`` of the constructor.

        Returns:
            Tensor: The loss, multiplied by ``loss_weight``.
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        if ignore_index is None:
            ignore_index = self.ignore_index
        ignore_index = -100 if ignore_index is None else ignore_index
        if cls_score.dim() > 0 and cls_score.shape[0] == 0 and reduction != 'none':
            return self.loss_weight * empty_batch_loss(cls_score)  # not a NaN mean
        if cls_score.dtype in (torch.float16, torch.bfloat16):  # no float16 overflow
            cls_score = cls_score.float()
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_tensor(self.class_weight, cls_score)  # copied once
        if self.use_sigmoid:
            loss = self._sigmoid(
                cls_score, label, weight, class_weight, reduction, avg_factor, ignore_index
            )
        else:
            loss = self._softmax(
                cls_score, label, weight, class_weight, reduction, avg_factor, ignore_index
            )
        return self.loss_weight * loss

    def _softmax(
        self,
        pred: Tensor,
        label: Tensor,
        weight: Optional[Tensor],
        class_weight: Optional[Tensor],
        reduction: str,
        avg_factor: Optional[float],
        ignore_index: int,
    ) -> Tensor:
        """Softmax cross entropy against the Eq. 3 distribution, classes along dim 1."""
        if pred.dim() < 2:
            raise ValueError(
                'softmax LabelSmoothCrossEntropyLoss expects cls_score of shape '
                f'(N, K, ...), got {tuple(pred.shape)}'
            )
        eps = self.label_smooth_val
        num_classes = pred.size(1)
        if label.is_floating_point():
            if label.shape != pred.shape:
                raise ValueError(
                    'float targets must have the shape of cls_score '
                    f'{tuple(pred.shape)}, got {tuple(label.shape)}'
                )
            target = smooth_distribution(label, eps, dim=1) if eps > 0 else label
            loss = F.cross_entropy(pred, target, weight=class_weight, reduction='none')
        else:
            expected = pred.shape[:1] + pred.shape[2:]
            if label.shape != expected:
                raise ValueError(
                    f'integer labels must have shape {tuple(expected)} for '
                    f'cls_score {tuple(pred.shape)}, got {tuple(label.shape)}'
                )
            check_class_labels(label, num_classes, ignore_index)
            loss = F.cross_entropy(
                pred, label, weight=class_weight, reduction='none', ignore_index=ignore_index
            )
            if eps > 0:
                # -sum_c w_c q'_c log p_c = (1 - eps) * nll + eps * (-sum_c w_c log p_c) / K
                log_prob = F.log_softmax(pred, dim=1)
                if class_weight is not None:
                    shape = [1, num_classes] + [1] * (pred.dim() - 2)
                    log_prob = log_prob * class_weight.view(shape)
                uniform = -log_prob.sum(dim=1) / num_classes
                row_eps = (label != ignore_index).to(pred.dtype) * eps
                if not self.smooth_background:
                    row_eps = row_eps * (label != num_classes - 1).to(pred.dtype)
                loss = (1.0 - row_eps) * loss + row_eps * uniform
        if loss.numel() == 0 and reduction != 'none':  # no pixel: not the NaN of 0 / 0
            return empty_batch_loss(pred)
        if avg_factor is None and self.avg_non_ignore and reduction == 'mean':
            avg_factor = (label != ignore_index).sum().to(loss.dtype)  # on the device
        if weight is not None:
            weight = weight.float()
        return weight_reduce_loss(loss, weight, reduction, avg_factor)

    def _sigmoid(
        self,
        pred: Tensor,
        label: Tensor,
        weight: Optional[Tensor],
        class_weight: Optional[Tensor],
        reduction: str,
        avg_factor: Optional[float],
        ignore_index: int,
    ) -> Tensor:
        """Binary cross entropy against smoothed targets, classes along the last dim."""
        squeeze = pred.dim() == 1 and label.dim() == 1
        if squeeze:  # (N,) logits with (N,) targets: one binary class per element
            pred, label = pred.unsqueeze(-1), label.unsqueeze(-1)
            if weight is not None and weight.dim() == 1:
                weight = weight.unsqueeze(-1)
        num_classes = pred.size(-1)
        if pred.dim() != label.dim():
            if pred.dim() != 2 or label.dim() != 1 or label.size(0) != pred.size(0):
                raise ValueError(
                    'sigmoid integer labels must be (N,) for cls_score (N, K); '
                    f'got {tuple(label.shape)} and {tuple(pred.shape)}'
                )
            # [0, K) foreground, K background (mmdet), ignore_index; anything else raises
            check_class_labels(label, num_classes, ignore_index, background=True)
            valid = (label >= 0) & (label != ignore_index)
            foreground = valid & (label < num_classes)
            # one-hot rows of the foreground labels (no nonzero: no host sync)
            classes = torch.arange(num_classes, device=pred.device)
            target = ((label.view(-1, 1) == classes) & foreground.view(-1, 1)).to(pred.dtype)
            valid = valid.view(-1, 1).expand_as(pred)
            valid_mask = valid.float()
            if weight is None:
                weight = valid_mask
            else:
                weight = weight.view(-1, 1).float() * valid_mask
            carrier = foreground.view(-1, 1)
        else:
            if label.shape != pred.shape:
                raise ValueError(
                    'sigmoid float targets must have the shape of cls_score '
                    f'{tuple(pred.shape)}, got {tuple(label.shape)}'
                )
            valid = (label >= 0) & (label != ignore_index)
            valid_mask = valid.float()
            weight = valid_mask if weight is None else weight * valid_mask
            target = label.to(pred.dtype)
            carrier = ((target > 0) & valid).any(dim=-1, keepdim=True)
        if avg_factor is None and self.avg_non_ignore and reduction == 'mean':
            avg_factor = valid_mask.sum()  # on the device
        if self.label_smooth_val > 0:
            a, b = sigmoid_smooth_coefficients(
                self.label_smooth_val, num_classes, self.sigmoid_mode
            )
            smoothed = a * target + b
            target = torch.where(carrier & valid, smoothed, target)
        loss = F.binary_cross_entropy_with_logits(
            pred, target, pos_weight=class_weight, reduction='none'
        )
        if loss.numel() == 0 and reduction != 'none':  # no element: not the NaN of 0 / 0
            return empty_batch_loss(pred)
        loss = weight_reduce_loss(loss, weight.float(), reduction, avg_factor)
        if squeeze and reduction == 'none':
            loss = loss.squeeze(-1)
        return loss
