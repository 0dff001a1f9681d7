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
multiplies by ``alpha_t``. mmcv's kernel evaluates ``log(max(p, FLT_MIN))``, and so does this
module's CPU path (``log(max(p_t, tiny))``); both differ from the unclamped ``BCEWithLogits``
only for ``|x| > ~87`` (float32).

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
float16/bfloat16 logits are computed (and returned) in float32. A batch of images without
pixels (``(N, C, 0, 0)``) is an empty batch too: the graph-keeping zero for ``'mean'`` and
``'sum'`` (not the NaN of an empty mean).

Memory and speed: the autograd graph of the plain formula above keeps ~7-8x the logits'
float32 bytes for backward (the one-hot target, sigmoid, ``1 - p_t``, its power, ``alpha_t``,
the BCE and the products), ~0.6 GB at 2x19x512x1024. The loss is therefore computed by

* on CUDA, when mmcv was built with CUDA ops, mmcv's fused ``sigmoid_focal_loss`` kernel
  (the op of mmseg's CUDA path; it keeps the (pixels, C) copy of the logits and the labels);
  a per-class ``alpha`` takes two calls of the op, with alpha 1 (the positive terms
  only) and alpha 0 (the negative terms only), weighted by ``alpha_c`` and ``1 - alpha_c``
  (per-class factors; both calls keep the same logits copy), so nothing else of the
  logits' size enters the graph (mmseg instead multiplies by a one-hot ``alpha_t``);
* otherwise (CPU, or an mmcv without CUDA ops) :class:`SigmoidFocalFunction`, which keeps
  only the logits and the labels and recomputes the sigmoid terms in backward (the
  gradient in closed form, ``benchmarks/seg_focal_memory.py``: saved bytes <= 2x the
  logits').

Neither path reads a value back to the host (the label check is a device-side assert on
CUDA, :func:`~mmext.models.losses.utils.check_class_labels`).
"""

import functools
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor
from torch.autograd.function import once_differentiable

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


def _focal_factors(
    x: Tensor, lab: Tensor, gamma: float, alpha: Union[float, Tensor]
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Union[float, Tensor]]:
    """The per-element quantities of Eq. 5 (Lin et al.), in float32 (float64 for float64).

    Args:
        x (Tensor): Logits (N, C, *spatial), any floating dtype.
        lab (Tensor): Labels (N, *spatial) in ``[0, C]`` (ignored pixels set to 0).
        gamma (float): Focusing parameter.
        alpha (float | Tensor): Positive-term weight, one float or (C,).

    With ``y`` the label of a pixel (``C``: no class), ``z = x`` at the labelled entry and
    ``-x`` elsewhere (written with ``gather`` / ``scatter``, no one-hot tensor), so that
    ``p_t = sigmoid(z)`` and ``q = 1 - p_t = sigmoid(-z)``; ``log p_t = log(max(p_t, tiny))``
    (``-BCEWithLogits``; mmcv's CUDA kernel clamps the same way, at ``FLT_MIN``): two
    vectorised sigmoids and a log, where ``logsigmoid``/``expm1`` run several times slower
    on CPU. The result differs from the unclamped ``BCEWithLogits`` only beyond
    ``|x| > 87`` (float32) and by at most the float resolution of ``p_t`` near 1.
    Non-finite logits: a NaN or +-inf anywhere in an image turns the labelled entries of that
    image into NaN (two reductions, ``amin * 0 + amax * 0``), so every reduction of the loss
    is NaN, never finite.

    Returns:
        tuple: ``index`` (N, 1, *spatial), the labelled entry (``C - 1`` for the label
        ``C``); ``labelled`` (N, 1, *spatial), 1.0 where the pixel has a class, else 0.0;
        ``log p_t``, ``q`` and ``q ** gamma`` of the shape of ``x``; ``alpha`` as a float or
        a per-class tensor broadcastable to ``x``.
    """
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    x = x.to(work)
    num_classes = x.shape[1]
    index = lab.clamp(max=num_classes - 1).unsqueeze(1)
    labelled = (lab < num_classes).unsqueeze(1).to(work)
    dims = tuple(range(1, x.dim()))
    flags = (x.amin(dims) * 0 + x.amax(dims) * 0).view((-1,) + (1,) * (x.dim() - 1))
    z_y = torch.addcmul(flags, x.gather(1, index), labelled.mul(2.0).sub_(1.0))  # x or -x
    z = x.neg().scatter_(1, index, z_y)
    q = torch.sigmoid(z.neg())
    log_pt = torch.sigmoid(z).clamp_(min=torch.finfo(work).tiny).log_()
    q_gamma = q * q if gamma == 2.0 else q.pow(gamma)
    if isinstance(alpha, Tensor):
        alpha = alpha.to(work).view((1, num_classes) + (1,) * (x.dim() - 2))
    return index, labelled, log_pt, q, q_gamma, alpha


def _alpha_at(alpha: Union[float, Tensor], index: Tensor) -> Union[float, Tensor]:
    """``alpha`` of the class ``index`` of each pixel (the float itself when not per class)."""
    return alpha.reshape(-1)[index] if isinstance(alpha, Tensor) else alpha


def _with_labelled(
    values: Tensor, off: Union[float, Tensor], on: Tensor, index: Tensor, labelled: Tensor
) -> Tensor:
    """``values * off`` with the labelled entries ``values * on`` instead (pixels with a class).

    Args:
        values (Tensor): The per-element factor, shape of the logits.
        off (float | Tensor): The factor of the entries of the other classes (per class).
        on (Tensor): The factor of the labelled entry of each pixel (N, 1, *spatial).
        index (Tensor): The labelled entry (N, 1, *spatial).
        labelled (Tensor): 1.0 where the pixel has a class (N, 1, *spatial).

    Returns:
        Tensor: A new tensor of the shape of ``values``.
    """
    at = values.gather(1, index)
    off_at = off.reshape(-1)[index] if isinstance(off, Tensor) else off
    fixed = torch.lerp(at * off_at, at * on, labelled)  # pixels without a class: unchanged
    return (values * off).scatter_(1, index, fixed)


class SigmoidFocalFunction(torch.autograd.Function):
    """Element-wise alpha-balanced focal loss (Lin et al., Eq. 5) that saves only its inputs.

    ``loss = -alpha_t (1 - p_t)^gamma log p_t`` per (pixel, class) (see
    :func:`_focal_factors`; ``-log p_t`` is ``BCEWithLogits``, ``alpha_t`` is ``alpha_c`` at
    the labelled class and ``1 - alpha_c`` elsewhere). Backward recomputes the terms from the
    saved logits and labels; with ``z = s x`` (``s = +1`` at the labelled class, ``-1``
    elsewhere), ``q = 1 - p_t``, ``d log p_t / dz = q`` and ``d q / dz = -p_t q``:

    ``dL/dx = s dL/dz = -s alpha_t q^gamma (q - gamma p_t log p_t)``.

    For float16/bfloat16 logits the loss is float32 and the gradient has the logits' dtype.
    """

    @staticmethod
    def forward(ctx, x: Tensor, lab: Tensor, gamma: float, alpha: Union[float, Tensor]) -> Tensor:  # noqa: D102
        index, labelled, log_pt, _, q_gamma, alpha_b = _focal_factors(x, lab, gamma, alpha)
        ctx.gamma = gamma
        ctx.alpha = None if isinstance(alpha, Tensor) else alpha
        ctx.save_for_backward(x, lab, alpha if isinstance(alpha, Tensor) else None)
        term = log_pt.mul_(q_gamma)  # q^gamma log p_t
        # -alpha_t: alpha - 1 off the label, -alpha_y at it
        return _with_labelled(term, alpha_b - 1.0, -_alpha_at(alpha_b, index), index, labelled)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # noqa: D102
        x, lab, alpha = ctx.saved_tensors
        alpha = ctx.alpha if alpha is None else alpha
        index, labelled, log_pt, q, q_gamma, alpha_b = _focal_factors(x, lab, ctx.gamma, alpha)
        # q^gamma (q - gamma p_t log p_t) = q^gamma (q + gamma (q - 1) log p_t), times grad
        inner = torch.addcmul(q, q.sub(1.0), log_pt, value=ctx.gamma)
        inner.mul_(q_gamma).mul_(grad)
        # -s alpha_t: 1 - alpha off the label, -alpha_y at it
        grad_x = _with_labelled(inner, 1.0 - alpha_b, -_alpha_at(alpha_b, index), index, labelled)
        return grad_x.to(x.dtype), None, None, None


@functools.lru_cache(maxsize=None)
def _mmcv_has_cuda_ops() -> bool:
    """Whether the installed mmcv was compiled with CUDA ops (read once per process)."""
    from mmext.utils.mmcv_ops import mmcv_ops_flavour

    return mmcv_ops_flavour(with_archs=False).kind == 'cuda'


def _use_mmcv_op(x: Tensor) -> bool:
    """mmcv's fused CUDA kernel for CUDA logits when mmcv has CUDA ops."""
    return x.is_cuda and _mmcv_has_cuda_ops()


def _mmcv_sigmoid_focal_loss() -> Callable:
    """mmcv's ``sigmoid_focal_loss`` op (imported on first use)."""
    from mmcv.ops import sigmoid_focal_loss

    return sigmoid_focal_loss


def _mmcv_focal(x: Tensor, lab: Tensor, gamma: float, alpha: Union[float, List[float]]) -> Tensor:
    """The element-wise loss of :class:`SigmoidFocalFunction` from mmcv's fused op.

    mmcv's op takes (pixels, C) logits (the label ``C``: no class) and one float alpha, and
    returns the per-element loss ``-alpha (1-p)^gamma log p`` at the labelled class and
    ``-(1-alpha) p^gamma log(1-p)`` elsewhere with ``reduction='none'``. A per-class
    ``alpha`` is ``alpha_c`` times the op with alpha 1 (positive terms only) plus
    ``1 - alpha_c`` times the op with alpha 0 (negative terms only).
    """
    num_classes = x.shape[1]
    flat = x.movedim(1, -1).reshape(-1, num_classes)
    target = lab.reshape(-1)
    op = _mmcv_sigmoid_focal_loss()
    if isinstance(alpha, (list, tuple)):
        alpha_vec = constant_tensor(alpha, flat)
        positive = op(flat, target, gamma, 1.0, None, 'none')
        negative = op(flat, target, gamma, 0.0, None, 'none')
        loss = torch.addcmul(positive * alpha_vec, negative, 1.0 - alpha_vec)
    else:
        loss = op(flat, target, gamma, float(alpha), None, 'none')
    return loss.view(x.shape[:1] + x.shape[2:] + (num_classes,)).movedim(-1, 1)


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

    # [0, C] or ignore_index: ValueError on CPU, device-side assert (no host sync) on CUDA
    check_class_labels(label, num_classes, ignore_index, background=True)
    if label.numel() == 0 and reduction != 'none':  # images without pixels: no 0 / 0
        return empty_batch_loss(cls_score)
    x = cls_score.float() if cls_score.dtype in (torch.float16, torch.bfloat16) else cls_score
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    bshape = (1, num_classes) + (1,) * (x.dim() - 2)  # broadcast a per-class vector
    if _use_mmcv_op(x):
        loss = _mmcv_focal(x.contiguous(), lab, float(gamma), alpha)
    else:
        if isinstance(alpha, (list, tuple)):
            alpha = constant_tensor(alpha, x)  # copied to the device once
        loss = SigmoidFocalFunction.apply(cls_score, lab, float(gamma), alpha)

    final_weight = valid.unsqueeze(1).to(x.dtype)
    if class_weight is not None:
        final_weight = final_weight * constant_tensor(class_weight, x).view(bshape)
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
