"""Image- and class-level tilted cross-entropy (TCE paper, Eqs. 2 and 3).

TERM (Li et al., 2021) replaces the mean of losses :math:`f_i` by the tilted mean
:math:`\\frac1t\\log\\big(\\frac1M\\sum_i e^{t f_i}\\big)`: ``t > 0`` up-weights the
worst losses (fairness), ``t < 0`` down-weights them (robustness), ``t -> 0`` gives the
plain mean (ERM). The TCE paper tilts the pixel-wise multi-class CE (Eq. 1) at two levels:

* image level, Eq. 2: :math:`\\tilde L^{img} = \\frac1t\\log\\big(\\frac1M\\sum_m e^{tL_m}\\big)`,
  :math:`L_m` the mean CE over the valid pixels of image ``m``;
* class level, Eq. 3: :math:`\\tilde L^{cls} = \\frac1M\\sum_m \\frac1t\\log\\big(\\frac1{K_m}
  \\sum_{c\\in m} e^{tL_{m,c}}\\big)`, :math:`L_{m,c}` the mean CE over the valid pixels of
  class ``c`` in image ``m`` and :math:`K_m` the number of classes present in image ``m``
  (the paper writes ``K``; averaging over absent classes would be 0/0).

Implementation notes:

* One ``F.cross_entropy(reduction='none')`` pass, then the per-(image, class) CE sums and
  pixel counts in two fixed-size ``index_add`` over the flat index ``m * (C + 1) + label``
  (ignored pixels go to the extra bin ``C``): no Python loop over images or classes, and no
  host synchronisation (``bincount`` reads its maximum back to the host on CUDA; the
  all-ignored case is a ``torch.where``, not a Python ``if``).
* The tilted mean is evaluated as :math:`c + \\frac1t\\,\\mathrm{log1p}\\big(\\sum_i v_i
  \\,\\mathrm{expm1}(t(x_i - c))/\\sum_i v_i\\big)` with ``c`` the (detached) value that
  maximises ``t*x``. Mathematically this is the log-sum-exp form, but all exponents are
  ``<= 0`` (no overflow for any ``t``) and nothing cancels as ``t -> 0`` (``expm1``/``log1p``),
  so small ``t`` gives the plain mean to float precision. Detaching ``c`` does not change the
  gradient: the average of the per-item gradients weighted by ``softmax(t * x)``, as the TCE
  paper (Sec. 2.1) recalls from TERM.
* ``t = 0`` is accepted and means ERM, i.e. the ``t -> 0`` limit: the mean of ``L_m``
  (image level) or the mean over images of the mean over present classes of ``L_{m,c}``
  (class level). Negative ``t`` is allowed.
* A valid pixel with a non-finite CE (NaN or +inf logits give NaN; a -inf true-class logit
  or an overflow gives +inf) makes the loss non-finite for every tilt: with ``t < 0`` the
  tilted mean alone would weight an infinite loss by ``e^{-inf} = 0`` (:func:`tilted_mean`).
  Ignored pixels do not enter the loss, as in ``F.cross_entropy``.
* Images without any valid pixel are left out (``M`` counts the others); a batch without any
  valid pixel gives a zero loss that is still connected to the graph (zero gradients).
* Empty batch (``N = 0``): like every mmext loss (:mod:`mmext.models.losses.empty_batch`), a
  zero that keeps the graph (``cls_score.sum() * 0``; an empty ``(0,)`` tensor for
  ``reduction='none'``).
* ``class_weight`` must hold one finite, non-negative number per class, at least one of them
  positive: all-zero weights would give every pixel weight 0, i.e. a loss of 0 with zero
  gradients (training that silently learns nothing).
* The per-(image, class) tables and the result are float64 for float64 logits and float32
  otherwise (float16/bfloat16 logits under AMP give a float32 loss).
"""

from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.fileio import load

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .utils import (
    LossNameMixin,
    check_class_labels,
    check_finite_number,
    check_reduction,
    constant_tensor,
    resolve_reduction,
)

LEVELS = ('image', 'class')


def tilted_mean(
    values: torch.Tensor,
    tilt: float,
    mask: torch.Tensor,
    weights: Optional[torch.Tensor] = None,
    denominator: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Tilted (log-mean-exp) average along the last dimension, overflow-free.

    Computes :math:`\\frac1t \\log\\big(\\sum_i v_i e^{t x_i} / D\\big)` over the entries
    with ``mask`` true, with :math:`v_i` = ``weights`` (1 when None) and ``D`` =
    ``denominator`` (:math:`\\sum_i v_i` when None). ``tilt == 0`` returns the limit
    :math:`\\sum_i v_i x_i / D`.

    Args:
        values (Tensor): Losses, shape ``(..., n)``.
        tilt (float): The tilt ``t``.
        mask (Tensor): Bool, same shape: which entries take part.
        weights (Tensor, optional): Non-negative weights broadcastable to ``values``.
        denominator (Tensor, optional): ``D`` per row, shape ``(...)``.

    Returns:
        Tensor: Shape ``(...)``. Rows without any entry give 0. Rows with a non-finite entry
        give the non-finite weighted sum (never a finite value: with ``t < 0`` the tilted
        mean would otherwise give an infinite entry the weight ``e^{-inf} = 0``).
    """
    v = mask.to(values.dtype)
    if weights is not None:
        v = v * weights
    total_v = v.sum(-1)
    den = total_v if denominator is None else denominator
    nonempty = total_v > 0
    den_safe = torch.where(nonempty, den, torch.ones_like(den))
    x = torch.where(mask, values, torch.zeros_like(values))
    if tilt == 0:
        return torch.where(nonempty, (v * x).sum(-1) / den_safe, torch.zeros_like(den))
    with torch.no_grad():
        scaled = torch.where(mask, tilt * x, torch.full_like(x, -float('inf')))
        center = scaled.amax(-1) / tilt
        center = torch.where(nonempty, center, torch.zeros_like(center))
    s = torch.where(mask, tilt * (x - center.unsqueeze(-1)), torch.zeros_like(x))
    rel = (v * torch.expm1(s)).sum(-1) / den_safe  # = sum_i v_i e^{s_i} / D - total_v / D
    if denominator is not None:
        # log(sum v e^s / D) = log1p(rel + (total_v - D) / D); adding 1 - 1 would cancel
        rel = rel + (total_v - den) / den_safe
    out = center + torch.log1p(rel) / tilt
    # A non-finite entry must not vanish: with t < 0, e^{t * inf} = 0 would drop an infinite
    # loss and give a finite mean. Such rows return the plain weighted sum (inf or NaN).
    nonfinite = (mask & ~torch.isfinite(values)).any(-1)
    out = torch.where(nonfinite, (v * x).sum(-1), out)
    return torch.where(nonempty, out, torch.zeros_like(out))


def tilted_cross_entropy(
    pred: torch.Tensor,
    label: torch.Tensor,
    tilt: float,
    level: str = 'image',
    weight: Optional[torch.Tensor] = None,
    class_weight: Optional[torch.Tensor] = None,
    reduction: str = 'mean',
    avg_factor: Optional[float] = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Image-level (Eq. 2) or class-level (Eq. 3) tilted cross-entropy.

    Args:
        pred (Tensor): Logits, shape ``(N, C, *spatial)``.
        label (Tensor): Labels, shape ``(N, *spatial)``, values in ``[0, C)`` or
            ``ignore_index``.
        tilt (float): The tilt ``t`` (``0`` = ERM limit, negative allowed).
        level (str): ``'image'`` (Eq. 2) or ``'class'`` (Eq. 3).
        weight (Tensor, optional): Pixel-wise weight, shape ``(N, *spatial)``; multiplies
            each pixel's CE (the averages still divide by the pixel counts, as mmseg does).
        class_weight (Tensor, optional): Weight per class, shape ``(C,)``. Image level: the
            mean over pixels becomes the class-weighted mean
            :math:`\\sum_i w_{y_i} \\ell_i / \\sum_i w_{y_i}` (``F.cross_entropy``'s
            convention). Class level: the inner mean of Eq. 3 becomes the weighted mean
            :math:`\\sum_c w_c e^{tL_{m,c}} / \\sum_c w_c` over present classes.
        reduction (str): ``'mean'`` (the equations), ``'sum'`` (``M`` times Eq. 2; the
            sum over images of Eq. 3's inner term) or ``'none'`` (class level only: the
            per-image tilted losses, shape ``(N,)``, 0 for images without valid pixels).
        avg_factor (float, optional): Replaces ``M`` (the number of images with valid
            pixels) in the equations; only with ``reduction='mean'``.
        ignore_index (int): Label to ignore. Defaults to -100.

    Returns:
        Tensor: The loss (scalar, or ``(N,)`` for ``reduction='none'``).

    Raises:
        ValueError: For a label outside ``[0, C)`` that is not ``ignore_index`` (on CPU;
            on CUDA a device-side assert, see
            :func:`~mmext.models.losses.utils.check_class_labels`).
    """
    if level not in LEVELS:
        raise ValueError(f'level must be one of {LEVELS}, got {level!r}')
    check_reduction(reduction)
    if reduction == 'none' and level == 'image':
        raise ValueError(
            "reduction='none' is undefined for level='image': Eq. 2 tilts "
            "across images into one value; use level='class' or mean/sum"
        )
    if avg_factor is not None and reduction != 'mean':
        raise ValueError(f"avg_factor can only be used with reduction='mean', got {reduction!r}")
    if pred.dim() < 2 or label.shape != pred.shape[:1] + pred.shape[2:]:
        raise ValueError(
            'expected pred (N, C, *spatial) and label (N, *spatial), got '
            f'{tuple(pred.shape)} and {tuple(label.shape)}'
        )
    num_imgs, num_classes = pred.shape[:2]
    # a label outside [0, C) and != ignore_index: ValueError (CPU) / device assert (CUDA)
    check_class_labels(label, num_classes, ignore_index)
    table_dtype = torch.float64 if pred.dtype == torch.float64 else torch.float32
    if num_imgs == 0:  # empty batch: the policy of every mmext loss
        return empty_batch_loss(pred, table_dtype, (0,) if reduction == 'none' else None)
    label = label.long()
    ce = F.cross_entropy(
        pred, label, weight=class_weight, reduction='none', ignore_index=ignore_index
    )
    if weight is not None:
        if weight.shape != ce.shape:
            raise ValueError(f'weight must have shape {tuple(ce.shape)}, got {tuple(weight.shape)}')
        ce = ce * weight.to(ce.dtype)

    # per-(image, class) CE sums and pixel counts over one flat index; ignored -> bin C
    bins = torch.where(label == ignore_index, torch.full_like(label, num_classes), label)
    offsets = torch.arange(num_imgs, device=pred.device) * (num_classes + 1)
    flat = (bins.reshape(num_imgs, -1) + offsets[:, None]).reshape(-1)
    size = num_imgs * (num_classes + 1)
    sums = torch.zeros(size, dtype=table_dtype, device=pred.device).index_add(
        0, flat, ce.reshape(-1).to(table_dtype)
    )
    sums = sums.view(num_imgs, num_classes + 1)[:, :num_classes]
    counts = torch.zeros(size, dtype=table_dtype, device=pred.device).index_add_(
        0, flat, torch.ones_like(flat, dtype=table_dtype)
    )
    den = counts.view(num_imgs, num_classes + 1)[:, :num_classes]
    if class_weight is not None:
        den = den * class_weight.to(table_dtype)
    present = den > 0  # (N, C): class c has valid (and non-zero-weighted) pixels in m

    if level == 'image':
        img_den = den.sum(1)
        valid_img = img_den > 0
        img_loss = sums.sum(1) / torch.where(valid_img, img_den, torch.ones_like(img_den))
        num_valid = valid_img.sum().to(table_dtype)
        if avg_factor is None:
            denom = num_valid
        elif isinstance(avg_factor, torch.Tensor):
            denom = avg_factor.to(num_valid)
        else:
            denom = num_valid.new_full((), float(avg_factor))  # a fill, not a host copy
        loss = tilted_mean(img_loss, tilt, valid_img, denominator=denom)
        if reduction == 'sum':
            loss = loss * num_valid
    else:
        cls_loss = sums / torch.where(present, den, torch.ones_like(den))
        cw = None if class_weight is None else class_weight.to(table_dtype)
        per_img = tilted_mean(cls_loss, tilt, present, weights=cw)
        valid_img = present.any(1)
        if reduction == 'none':
            loss = per_img
        elif reduction == 'sum':
            loss = per_img.sum()
        elif avg_factor is not None:
            loss = per_img.sum() / avg_factor
        else:
            loss = per_img.sum() / valid_img.sum().clamp_min(1).to(table_dtype)
    # no valid pixel in the batch: a zero that keeps the graph (zero gradients), chosen on
    # the device (no host sync; ``loss`` is connected to ``pred`` through the CE)
    loss = torch.where(valid_img.any(), loss, torch.zeros_like(loss))
    # float16/bfloat16 logits (AMP) give a float32 loss, as torch's cross-entropy does
    return loss.to(table_dtype)


def read_class_weight(class_weight: Union[Sequence[float], np.ndarray, str]) -> List[float]:
    """Per-class weights from a sequence or a file, validated.

    Args:
        class_weight (Sequence[float] | np.ndarray | str): The weights, or a file holding
            them (``.npy``, or json / yaml / pkl as read by ``mmengine.fileio.load``).

    Returns:
        List[float]: One weight per class.

    Raises:
        ValueError: When the weights are not a flat sequence of numbers (e.g. a file
            holding a dict), negative or non-finite, or all zero.
    """
    source = ''
    if isinstance(class_weight, str):
        source = f' (read from {class_weight})'
        class_weight = (
            np.load(class_weight) if class_weight.endswith('.npy') else load(class_weight)
        )
    if isinstance(class_weight, dict):
        raise ValueError(
            f'class_weight{source} is a dict with keys {list(class_weight)[:5]}'
            '; expected a list with one number per class, in class order'
        )
    try:
        weights = [float(w) for w in np.asarray(class_weight, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError) as e:
        raise ValueError(
            f'class_weight{source} must be a list with one number per class, '
            f'got {type(class_weight).__name__} ({e})'
        ) from e
    if not weights or any(w < 0 or not np.isfinite(w) for w in weights):
        raise ValueError(f'class_weight{source} must be finite and non-negative, got {weights}')
    if not any(w > 0 for w in weights):
        raise ValueError(
            f'class_weight{source} is all zero: every pixel would get weight 0, '
            'the loss would be 0 with zero gradients; give at least one class '
            'a positive weight'
        )
    return weights


@MODELS.register_module()
class TiltedCrossEntropyLoss(LossNameMixin, nn.Module):
    """Tilted cross-entropy (TCE paper, Eqs. 2/3), a drop-in for mmseg's ``loss_decode``.

    ``forward`` has the signature of mmseg's ``CrossEntropyLoss``; mmseg's decode heads call
    it with ``ignore_index=head.ignore_index``. An empty batch (``N = 0``) gives a zero that
    keeps the graph (``cls_score.sum() * 0``), the policy of every mmext loss
    (:mod:`mmext.models.losses.empty_batch`).

    Labels must lie in ``[0, C)`` or equal the ignore index: others raise a ``ValueError``
    giving the range and the offending values (CPU) or trip a device-side assert (CUDA, no
    host synchronisation), never an ``IndexError`` deep in ``F.cross_entropy``.

    Args:
        tilt (float): The tilt ``t`` of Eqs. 2/3, a finite number (NaN and +-inf raise a
            ``ValueError``). ``t > 0`` promotes fairness, ``t < 0`` robustness; ``t = 0`` is
            accepted and means ERM (the ``t -> 0`` limit, see :func:`tilted_cross_entropy`).
            Defaults to 1.0.
        level (str): ``'image'`` (Eq. 2) or ``'class'`` (Eq. 3). Defaults to ``'image'``.
        class_weight (list[float] | str, optional): Weight per class, or a file to read it
            from (``.npy``, json, yaml, pkl), as in mmseg: finite, non-negative, not all zero
            (see :func:`read_class_weight`). See :func:`tilted_cross_entropy` for how it
            enters each level. Defaults to None.
        ignore_index (int, optional): If set, overrides the ``ignore_index`` passed to
            ``forward`` (mmseg's heads pass their own). Defaults to None.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (class level only).
            Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss, finite. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to be
            back-propagated by mmseg. Defaults to ``'loss_tce'``.
    """

    def __init__(
        self,
        tilt: float = 1.0,
        level: str = 'image',
        class_weight: Optional[Union[List[float], str]] = None,
        ignore_index: Optional[int] = None,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        loss_name: str = 'loss_tce',
    ) -> None:
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f'level must be one of {LEVELS}, got {level!r}')
        check_reduction(reduction)
        if reduction == 'none' and level == 'image':
            raise ValueError("reduction='none' is undefined for level='image'")
        tilt = check_finite_number('tilt', tilt)
        loss_weight = check_finite_number('loss_weight', loss_weight)
        self._set_loss_name(loss_name)
        if class_weight is not None:
            class_weight = read_class_weight(class_weight)
        self.tilt = tilt
        self.level = level
        self.class_weight: Optional[Sequence[float]] = class_weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight: Optional[torch.Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        ignore_index: int = -100,
        **kwargs,
    ) -> torch.Tensor:
        """Compute the tilted CE.

        Args:
            cls_score (Tensor): Logits ``(N, C, *spatial)``.
            label (Tensor): Labels ``(N, *spatial)``.
            weight (Tensor, optional): Pixel-wise weight ``(N, *spatial)``.
            avg_factor (float, optional): Replaces ``M`` in Eqs. 2/3.
            reduction_override (str, optional): ``'mean'``, ``'sum'`` or ``'none'``.
            ignore_index (int): Ignored label, unless the constructor set one.
                Defaults to -100.

        Returns:
            Tensor: ``loss_weight`` times the tilted CE.
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        class_weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(
                    f'class_weight has {len(self.class_weight)} entries for '
                    f'{cls_score.shape[1]} classes'
                )
            class_weight = constant_tensor(self.class_weight, cls_score)  # copied once
        ignore = self.ignore_index if self.ignore_index is not None else ignore_index
        loss = tilted_cross_entropy(
            cls_score,
            label,
            self.tilt,
            level=self.level,
            weight=weight,
            class_weight=class_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            ignore_index=ignore,
        )
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Extra repr."""
        return f'tilt={self.tilt}, level={self.level!r}, reduction={self.reduction!r}'
