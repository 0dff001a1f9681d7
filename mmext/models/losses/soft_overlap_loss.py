"""Multi-class Soft Dice and Soft IoU losses of Balance-batch (Huang et al.).

With ``p = softmax(logits)`` over classes, ``g`` the one-hot label and the sums over the
non-ignored pixels ``i``:

* Soft Dice (Eq. 5): ``I_c = sum_i 2 p_ic g_ic``, ``U_c = sum_i (g_ic^2 + p_ic^2)``;
* Soft IoU: ``I_c = sum_i p_ic g_ic``, ``U_c = sum_i (p_ic + g_ic - p_ic g_ic)``.

Two readings of the batch loss are implemented (``per_image``):

* ``per_image=False`` (default), Eq. 5 / Algorithm 1 read literally: ``I_c`` and ``U_c``
  sum over every pixel of the batch and
  ``loss = -loss_weight * (1 / N) * sum_c w_c (I_c + smooth) / (U_c + smooth)``, ``N`` the
  number of images. The ratio does not grow with ``N``, so the loss and its gradient shrink
  about ``N`` times as the batch grows.
* ``per_image=True``, the per-sample sum ``(1/m) sum_{j=1}^m [...]_j`` of Eq. 6 (and Eq. 2):
  ``I_nc`` and ``U_nc`` sum over the pixels of image ``n`` and
  ``loss = -loss_weight * (1 / N) * sum_n sum_c w_c (I_nc + smooth) / (U_nc + smooth)``.

``w_c`` are optional class weights and ``smooth = 0`` as in the paper. Pixels equal to
``ignore_index`` enter neither ``p`` nor ``g``. A ratio with ``U = 0`` (the class absent from
the labels of the batch, or of the image, and predicted with probability exactly 0)
contributes 0, so finite logits never give NaN.

Non-finite logits: a NaN or +-inf anywhere in ``cls_score`` (ignored pixels included) makes
every ratio it can reach NaN (all classes of the batch; with ``per_image`` all classes of
that image), so a diverged model logs a non-finite loss, never a finite one.

Empty batches (``N = 0``): like every mmext loss (:mod:`mmext.models.losses.empty_batch`),
the loss is a zero that keeps the graph (``cls_score.sum() * 0``; zeros of the ``'none'``
shape), not ``0 / 0``.

The ratios ``r = I / U`` come from one autograd function that never builds the one-hot
tensor: ``I`` and ``g`` only need ``p`` at the labelled class, and the gradient (written in
closed form below) overwrites the softmax kept from the forward pass, class by class, so
forward + backward hold one tensor of the logits' size (a second backward with
``retain_graph`` recomputes the softmax).
"""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torch.autograd.function import once_differentiable

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .utils import LossNameMixin, check_class_labels, check_reduction, resolve_reduction


def _valid_labels(
    cls_score: Tensor, label: Tensor, weight: Optional[Tensor], ignore_index: int
) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Labels with ignored pixels set to 0, the valid mask and per-pixel weights."""
    if label.dim() == cls_score.dim() and label.shape[1] == 1:
        label = label[:, 0]
    if label.shape != cls_score.shape[:1] + cls_score.shape[2:]:
        raise ValueError(
            f'label shape {tuple(label.shape)} does not match cls_score '
            f'{tuple(cls_score.shape)} (expected (N, *spatial))'
        )
    check_class_labels(label, cls_score.shape[1], ignore_index)
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    m = None
    if weight is not None:
        if weight.shape != label.shape:
            raise ValueError(
                f'pixel weight shape {tuple(weight.shape)} != label shape {tuple(label.shape)}'
            )
        m = (
            weight.to(
                torch.float32
                if cls_score.dtype in (torch.float16, torch.bfloat16)
                else cls_score.dtype
            )
            * valid
        )
    return lab, valid, m


def _masked_softmax(logits: Tensor, drop: Optional[Tensor]) -> Tensor:
    """Softmax over dim 1 (float32 for half inputs), zero at the pixels in ``drop``."""
    work = torch.float32 if logits.dtype in (torch.float16, torch.bfloat16) else logits.dtype
    p = torch.softmax(logits.to(work), dim=1).contiguous()  # in place below: no views
    if drop is not None:
        num_drop = int(drop.sum())
        if 4 * num_drop < drop.numel():  # few ignored pixels: index them
            n_idx, s_idx = drop.reshape(drop.shape[0], -1).nonzero(as_tuple=True)
            p.view(p.shape[0], p.shape[1], -1)[n_idx, :, s_idx] = 0
        else:
            p.mul_(~drop.unsqueeze(1))
    return p


def _nonfinite_flags(logits: Tensor, dtype: torch.dtype) -> Tensor:
    """``(N,)``: 0 for an image whose logits are all finite, NaN otherwise.

    ``x * 0`` is 0 for finite ``x`` and NaN for NaN and +-inf; ``amin`` / ``amax`` propagate
    NaN. Two reductions over the logits, no temporary of their size.
    """
    if logits.numel() == 0:
        return logits.new_zeros(logits.shape[0], dtype=dtype)
    dims = tuple(range(1, logits.dim()))
    return logits.amin(dims).to(dtype) * 0 + logits.amax(dims).to(dtype) * 0


class _SoftOverlapRatio(torch.autograd.Function):
    """Ratios ``r = (I + s) / (U + s)`` for mode 'dice' or 'iou'.

    Shape ``(C,)`` (sums over the batch) or, with ``per_image``, ``(N, C)`` (sums over each
    image); below, ``c`` stands for a class of the batch or a (image, class) pair.

    Gradient w.r.t. ``p`` (``I, U`` include ``s``; ``m`` the pixel weight, 0 if ignored):
    dice: ``dr_c/dp_ic = m_i (2 g_ic / U_c - 2 I_c p_ic / U_c^2)``;
    iou: ``dr_c/dp_ic = m_i (g_ic (1/U_c + I_c/U_c^2) - I_c / U_c^2)``.
    Both read ``m_i (a_c g_ic + b_c p_ic + e_c)``; through the softmax,
    ``dL/dx_ic = p_ic (gp_ic - sum_k p_ik gp_ik)``. ``I_c / U_c^2`` is evaluated as
    ``r_c / U_c``, so a class absent from the labels gets exactly 0 even when extreme
    logits make ``U_c^2`` underflow (a plain autograd transcription gives NaN there).
    Ratios reached by a non-finite logit are NaN (forward and backward).
    """

    @staticmethod
    def forward(
        ctx,
        logits: Tensor,
        lab: Tensor,
        valid: Tensor,
        m: Optional[Tensor],
        mode: str,
        smooth: float,
        per_image: bool,
    ) -> Tensor:
        keep = valid if m is None else m != 0
        p = _masked_softmax(logits, None if bool(keep.all()) else ~keep)
        n, num_classes = p.shape[:2]
        lab1 = lab.unsqueeze(1)
        pg = p.gather(1, lab1).squeeze(1)  # p at the labelled class (0 if ignored)
        wpix = valid.to(p.dtype) if m is None else m
        if per_image:  # bins (image, class), flattened
            key = (
                lab.reshape(n, -1) + torch.arange(n, device=lab.device).unsqueeze(1) * num_classes
            ).reshape(-1)
            shape, dims = (n, num_classes), (2,)
        else:
            key, shape, dims = lab.reshape(-1), (num_classes,), (0, 2)
        tp = p.new_zeros(shape).view(-1).index_add_(0, key, (pg * wpix).reshape(-1)).view(shape)
        cnt = p.new_zeros(shape).view(-1).index_add_(0, key, wpix.reshape(-1)).view(shape)
        p3 = p.view(n, num_classes, -1)

        def per_class(fn) -> Tensor:  # weighted sums of fn(p_c), class by class
            if per_image:
                return torch.stack(
                    [fn(p[:, c]).reshape(n, -1).sum(1) for c in range(num_classes)], dim=1
                )
            return torch.stack([fn(p[:, c]).sum() for c in range(num_classes)])

        if mode == 'dice':
            sq = (
                torch.linalg.vector_norm(p3, dim=dims).square()
                if m is None
                else per_class(lambda pc: pc * pc * m)
            )
            inter, union = 2 * tp, cnt + sq
        else:
            ps = p3.sum(dim=dims) if m is None else per_class(lambda pc: pc * m)
            inter, union = tp, ps + cnt - tp
        inter, union = inter + smooth, union + smooth
        absent = union == 0  # a NaN union (non-finite logits) is not "absent": NaN ratio
        safe_u = torch.where(absent, torch.ones_like(union), union)
        ratio = torch.where(absent, torch.zeros_like(union), inter / safe_u)
        flags = _nonfinite_flags(logits, ratio.dtype)  # catches -inf too (p stays finite)
        ratio = ratio + (flags.unsqueeze(1) if per_image else flags.sum())
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(logits, pg, lab1, m, ratio, safe_u, ~absent & (cnt > 0))
            ctx.mode, ctx.per_image = mode, per_image
            ctx.drop = None if bool(keep.all()) else ~keep
            # an intermediate, kept on ctx (not saved): backward overwrites it in place
            ctx.softmax = p
        return ratio

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_ratio: Tensor):
        logits, pg, lab1, m, ratio, union, labelled = ctx.saved_tensors
        p, ctx.softmax = ctx.softmax, None
        if p is None:  # a second backward (retain_graph): the first one consumed p
            p = _masked_softmax(logits, ctx.drop)
        gr = grad_ratio.to(p.dtype)
        # I_c / U_c^2 is written (I_c / U_c) / U_c = r_c / U_c: for a class without labelled
        # pixels (I_c = 0 when smooth = 0) and a tiny U_c (extreme logits) the term is
        # exactly 0 instead of 0 / 0 = NaN once U_c^2 underflows. The g-term coefficient
        # ``a`` only matters for labelled classes (U_c >= their pixel count there).
        gr_r = gr * ratio  # r_c = 0 where U_c = 0 (forward), so this is finite
        zero = torch.zeros_like(gr)
        if ctx.mode == 'dice':
            a = torch.where(labelled, gr * 2 / union, zero)
            b, e = -2 * gr_r / union, None
        else:
            a = torch.where(labelled, (gr + gr_r) / union, zero)
            b, e = None, -gr_r / union
        n, num_classes = p.shape[:2]
        lab = lab1.squeeze(1)
        if ctx.per_image:  # per-image coefficients, broadcast over the pixels
            bshape = (n,) + (1,) * (p.dim() - 2)
            coef = [k.reshape(bshape) for k in (b if b is not None else e).unbind(1)]
            a_pg = a.gather(1, lab.reshape(n, -1)).view_as(lab) * pg
        else:
            coef = (b if b is not None else e).tolist()
            a_pg = a[lab] * pg  # a_y p_iy: the g-term, only at the label
        # s_i = sum_k p_ik (a_k g_ik + b_k p_ik + e_k)  (the factor m_i is applied last)
        s = a_pg.clone()
        for c in range(num_classes):
            pc, k = p[:, c], coef[c]
            if ctx.per_image:
                s.addcmul_(pc, pc * k if b is not None else k)
            elif b is not None:
                s.addcmul_(pc, pc, value=k)
            else:
                s.add_(pc, alpha=k)
        s.neg_()
        for c in range(num_classes):  # p_ic (b_c p_ic + e_c - s_i), in place
            pc, k = p[:, c], coef[c]
            if b is None:
                pc.mul_(s + k)
            elif ctx.per_image:
                pc.mul_(torch.addcmul(s, pc, k))
            else:
                pc.mul_(torch.add(s, pc, alpha=k))
        p.scatter_add_(1, lab1, a_pg.unsqueeze(1))  # + p_iy a_y g_iy
        if m is not None:
            p.mul_(m.unsqueeze(1))
        return p.to(logits.dtype), None, None, None, None, None, None


class SoftOverlapLoss(LossNameMixin, nn.Module):
    """Shared implementation of :class:`SoftDiceLoss` and :class:`SoftIoULoss`.

    Subclasses set :attr:`mode` (``'dice'`` or ``'iou'``) and the default loss name. The
    call signature is that of mmseg's ``CrossEntropyLoss``.

    Readings (see the module docstring): by default (``per_image=False``) the ratios are
    those of the whole batch, Eq. 5 / Algorithm 1 read literally,
    ``loss = -(1/N) sum_c w_c r_c``; with ``per_image=True`` each image gets its own ratios
    and they are averaged over the images, the per-sample sum of Eq. 6,
    ``loss = -(1/N) sum_n sum_c w_c r_nc``, whose gradient does not shrink with ``N``.

    Non-finite logits give a NaN loss (the ratios they reach are NaN). An empty batch
    (``N = 0``) gives a zero that keeps the graph (``cls_score.sum() * 0``), the policy of
    every mmext loss.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        smooth (float): Added to ``I`` and ``U``; the paper uses 0 (then absent classes
            contribute 0; with ``smooth > 0`` they contribute ``smooth / (U + smooth)``).
            Defaults to 0.
        class_weight (Sequence[float], optional): Weight ``w_c`` of each class.
        reduction (str): ``'mean'``: the sum of the ratio terms divided by the number of
            images ``N`` (or by ``avg_factor``); ``'sum'``: the same sum without ``1/N``;
            ``'none'``: the terms ``-w_c r_c / N`` as a ``(C,)`` tensor (with
            ``per_image``, ``-w_c r_nc / N`` as ``(N, C)``), whose sum is ``'mean'``.
        loss_name (str, optional): Name of the loss item (must start with ``loss_``).
        per_image (bool): Ratios per image, averaged over the images (Eq. 6's per-sample
            sum) instead of the batch ratios of Algorithm 1. Defaults to False.
    """

    mode = ''
    default_name = ''

    def __init__(
        self,
        loss_weight: float = 1.0,
        smooth: float = 0.0,
        class_weight: Optional[Sequence[float]] = None,
        reduction: str = 'mean',
        loss_name: Optional[str] = None,
        per_image: bool = False,
    ) -> None:
        super().__init__()
        if self.mode not in ('dice', 'iou'):
            raise TypeError('use SoftDiceLoss or SoftIoULoss')
        check_reduction(reduction)
        if smooth < 0:
            raise ValueError(f'smooth must be >= 0, got {smooth}')
        self._set_loss_name(loss_name or self.default_name)
        self.loss_weight = float(loss_weight)
        self.smooth = float(smooth)
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.reduction = reduction
        self.per_image = bool(per_image)

    def extra_repr(self) -> str:
        return (
            f'loss_weight={self.loss_weight}, smooth={self.smooth}, '
            f'class_weight={self.class_weight}, reduction={self.reduction!r}, '
            f'per_image={self.per_image}'
        )

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        ignore_index: int = 255,
        **kwargs,
    ) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits ``(N, C, *spatial)``.
            label (Tensor): Class ids ``(N, *spatial)`` (or ``(N, 1, *spatial)``).
            weight (Tensor, optional): Per-pixel weights ``(N, *spatial)``.
            avg_factor (float, optional): Replaces ``N`` in the ``'mean'`` and ``'none'``
                reductions.
            reduction_override (str, optional): Overrides :attr:`reduction`.
            ignore_index (int): Label value that is ignored. Defaults to 255.

        Returns:
            Tensor: The loss (a scalar, or with reduction ``'none'`` ``(C,)``, ``(N, C)``
            with ``per_image``). NaN when ``cls_score`` holds a NaN or +-inf.
        """
        reduction = resolve_reduction(self.reduction, reduction_override)
        if cls_score.dim() < 2:
            raise ValueError(f'cls_score must be (N, C, ...), got {tuple(cls_score.shape)}')
        lab, valid, m = _valid_labels(cls_score, label, weight, ignore_index)
        num_classes = cls_score.shape[1]
        if self.class_weight is not None and len(self.class_weight) != num_classes:
            raise ValueError(
                f'class_weight has {len(self.class_weight)} entries, '
                f'cls_score {num_classes} classes'
            )
        if cls_score.shape[0] == 0:
            return self._empty_batch_loss(cls_score, reduction)
        ratio = _SoftOverlapRatio.apply(
            cls_score, lab, valid, m, self.mode, self.smooth, self.per_image
        )
        if self.class_weight is not None:
            ratio = ratio * ratio.new_tensor(self.class_weight)
        if reduction == 'sum':
            loss = -ratio.sum()
        else:
            denom = float(avg_factor) if avg_factor is not None else cls_score.shape[0]
            loss = -ratio / denom
            if reduction == 'mean':
                loss = loss.sum()
        return self.loss_weight * loss

    def _empty_batch_loss(self, cls_score: Tensor, reduction: str) -> Tensor:
        """Zero (of the reduction's shape) that keeps the graph, for ``N = 0``."""
        if reduction != 'none':
            return empty_batch_loss(cls_score)
        shape = (0, cls_score.shape[1]) if self.per_image else (cls_score.shape[1],)
        return empty_batch_loss(cls_score, shape=shape)


@MODELS.register_module()
class SoftDiceLoss(SoftOverlapLoss):
    """Multi-class Soft Dice loss, Eq. 5 / Algorithm 1 (see :class:`SoftOverlapLoss`).

    ``I_c = sum_i 2 p_ic g_ic``, ``U_c = sum_i (g_ic^2 + p_ic^2)``. Default (batch reading
    of Algorithm 1): sums over the batch, ``loss = -(1/N) sum_c I_c / U_c``; option
    ``per_image=True`` (Eq. 6's per-sample sum): sums over each image ``n``,
    ``loss = -(1/N) sum_n sum_c I_nc / U_nc``. Default ``loss_name='loss_soft_dice'``.
    """

    mode = 'dice'
    default_name = 'loss_soft_dice'


@MODELS.register_module()
class SoftIoULoss(SoftOverlapLoss):
    """Multi-class Soft IoU loss of section III.B (see :class:`SoftOverlapLoss`).

    ``I_c = sum_i p_ic g_ic``, ``U_c = sum_i (p_ic + g_ic - p_ic g_ic)``. Default (batch
    reading, as Algorithm 1 for Soft Dice): sums over the batch,
    ``loss = -(1/N) sum_c I_c / U_c``; option ``per_image=True`` (Eq. 6's per-sample sum):
    sums over each image ``n``, ``loss = -(1/N) sum_n sum_c I_nc / U_nc``. Default
    ``loss_name='loss_soft_iou'``.
    """

    mode = 'iou'
    default_name = 'loss_soft_iou'
