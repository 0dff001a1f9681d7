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
closed form below) overwrites the softmax kept from the forward pass, all classes at once in
chunks of pixels (a temporary of 1 MiB on CPU, at most a quarter of the logits on CUDA), so
forward + backward hold about one tensor of the logits' size (a second backward with
``retain_graph`` recomputes the softmax). Nothing is read back to the host: a CUDA training
step does not wait for the GPU (the label check is a device-side assert there).
"""

from typing import List, Optional, Sequence, Tuple

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
)


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


def _masked_softmax(logits: Tensor, keep: Optional[Tensor]) -> Tensor:
    """Softmax over dim 1 (float32 for half inputs), times ``keep`` (0/1 per pixel) if given.

    The mask is a float multiplication broadcast over the classes: no host sync and no
    boolean indexing (a NaN logit stays NaN, see the non-finite policy).
    """
    work = torch.float32 if logits.dtype in (torch.float16, torch.bfloat16) else logits.dtype
    p = torch.softmax(logits.to(work), dim=1).contiguous()  # in place below: no views
    if keep is not None:
        p.mul_(keep.unsqueeze(1))
    return p


#: CPU: pixel chunks of about this many elements (N x C x pixels; 1 MiB of float32), so that
#: the temporary of a chunk stays in the cache
_CPU_CHUNK_ELEMENTS = 2**18
#: other devices (CUDA): at most this many chunks (kernel launches independent of C) ...
_DEVICE_CHUNKS = 4
#: ... of at least this many pixels
_MIN_DEVICE_CHUNK_PIXELS = 4096


def _pixel_chunks(shape: Sequence[int], device_type: str) -> List[slice]:
    """Slices of the flattened pixel axis for the class-vectorised passes.

    Every pass runs over all classes at once and needs a temporary of its chunk's size. On
    CPU the chunks hold about :data:`_CPU_CHUNK_ELEMENTS` elements (faster than one pass over
    the whole tensor: the temporary stays in the cache). On other devices there are at most
    :data:`_DEVICE_CHUNKS` chunks, a number that depends on the pixels only, so the kernel
    launches do not grow with the number of classes, and the temporary is at most a quarter
    of the softmax.

    Args:
        shape (Sequence[int]): ``(N, C, P)`` of the flattened softmax.
        device_type (str): ``'cpu'``, ``'cuda'``, ...

    Returns:
        list[slice]: Consecutive slices covering ``range(P)`` (one empty slice for P = 0).
    """
    n, c, num_pixels = shape
    if device_type == 'cpu':
        length = max(1, _CPU_CHUNK_ELEMENTS // max(n * c, 1))
    else:
        length = max(_MIN_DEVICE_CHUNK_PIXELS, -(-num_pixels // _DEVICE_CHUNKS))
    return [slice(i, min(i + length, num_pixels)) for i in range(0, max(num_pixels, 1), length)]


def _weighted_pixel_sums(p3: Tensor, m3: Tensor, squares: bool) -> Tensor:
    """``sum_i m_i p_ic`` (or ``sum_i m_i p_ic^2``) per image and class, all classes at once.

    Args:
        p3 (Tensor): Softmax ``(N, C, P)``.
        m3 (Tensor): Pixel weights ``(N, 1, P)``.
        squares (bool): Sum ``m p^2`` instead of ``m p``.

    Returns:
        Tensor: ``(N, C)``.
    """
    total = p3.new_zeros(p3.shape[:2])
    for sl in _pixel_chunks(p3.shape, p3.device.type):
        pc = p3[:, :, sl]
        t = pc * m3[:, :, sl]
        if squares:
            t.mul_(pc)
        total += t.sum(2)
    return total


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

    Every pass runs over all classes at once (broadcast per-class coefficients, pixel
    chunks of :func:`_pixel_chunks`): the number of operations does not grow with ``C``, and
    nothing is read back to the host (no host synchronisation on CUDA).
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
        # unweighted: the softmax is zeroed at ignored pixels (then the plain sums below are
        # the sums over valid pixels); weighted: every sum carries m (0 at ignored pixels)
        keep = valid.to(torch.float32 if logits.dtype != torch.float64 else logits.dtype)
        keep = keep if m is None else None
        p = _masked_softmax(logits, keep)
        n, num_classes = p.shape[:2]
        lab1 = lab.unsqueeze(1)
        pg = p.gather(1, lab1).squeeze(1)  # p at the labelled class
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

        def weighted(squares: bool) -> Tensor:  # sums of m p (or m p^2) over the pixels
            sums = _weighted_pixel_sums(p3, m.reshape(n, 1, -1), squares)
            return sums if per_image else sums.sum(0)

        if mode == 'dice':
            sq = torch.linalg.vector_norm(p3, dim=dims).square() if m is None else weighted(True)
            inter, union = 2 * tp, cnt + sq
        else:
            ps = p3.sum(dim=dims) if m is None else weighted(False)
            inter, union = tp, ps + cnt - tp
        inter, union = inter + smooth, union + smooth
        absent = union == 0  # a NaN union (non-finite logits) is not "absent": NaN ratio
        safe_u = torch.where(absent, torch.ones_like(union), union)
        ratio = torch.where(absent, torch.zeros_like(union), inter / safe_u)
        flags = _nonfinite_flags(logits, ratio.dtype)  # catches -inf too (p stays finite)
        ratio = ratio + (flags.unsqueeze(1) if per_image else flags.sum())
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(logits, pg, lab1, m, keep, ratio, safe_u, ~absent & (cnt > 0))
            ctx.mode, ctx.per_image = mode, per_image
            # an intermediate, kept on ctx (not saved): backward overwrites it in place
            ctx.softmax = p
        return ratio

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_ratio: Tensor):
        logits, pg, lab1, m, keep, ratio, union, labelled = ctx.saved_tensors
        p, ctx.softmax = ctx.softmax, None
        if p is None:  # a second backward (retain_graph): the first one consumed p
            p = _masked_softmax(logits, keep)
        gr = grad_ratio.to(p.dtype)
        # I_c / U_c^2 is written (I_c / U_c) / U_c = r_c / U_c: for a class without labelled
        # pixels (I_c = 0 when smooth = 0) and a tiny U_c (extreme logits) the term is
        # exactly 0 instead of 0 / 0 = NaN once U_c^2 underflows. The g-term coefficient
        # ``a`` only matters for labelled classes (U_c >= their pixel count there).
        gr_r = gr * ratio  # r_c = 0 where U_c = 0 (forward), so this is finite
        zero = torch.zeros_like(gr)
        dice = ctx.mode == 'dice'
        if dice:
            a = torch.where(labelled, gr * 2 / union, zero)
            coef = -2 * gr_r / union  # b: the p-term
        else:
            a = torch.where(labelled, (gr + gr_r) / union, zero)
            coef = -gr_r / union  # e: the constant term
        n, num_classes = p.shape[:2]
        lab = lab1.squeeze(1)
        if ctx.per_image:  # per-image coefficients, broadcast over the pixels
            a_pg = a.gather(1, lab.reshape(n, -1)).view_as(lab) * pg
            coef = coef.view(n, num_classes, 1)
        else:
            a_pg = a[lab] * pg  # a_y p_iy: the g-term, only at the label
            coef = coef.view(1, num_classes, 1)
        # dL/dx_ic = p_ic (b_c p_ic + e_c - s_i) + [c = y_i] p_iy a_y, with
        # s_i = a_y p_iy + sum_k p_ik (b_k p_ik + e_k); the factor m_i is applied last.
        # All classes at once, chunk by chunk of pixels, written into p in place.
        p3, a_pg3 = p.view(n, num_classes, -1), a_pg.view(n, 1, -1)
        for sl in _pixel_chunks(p3.shape, p3.device.type):
            pc = p3[:, :, sl]
            t = pc * pc if dice else pc * coef  # dice: p^2, then b p^2; iou: e p
            if dice:
                t.mul_(coef)
            s = t.sum(1, keepdim=True).add_(a_pg3[:, :, sl])
            pc.copy_(t.addcmul_(pc, s, value=-1.0))  # b p^2 - p s  /  e p - p s
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
            ratio = ratio * constant_tensor(self.class_weight, ratio)  # copied once
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
