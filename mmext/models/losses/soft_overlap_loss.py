"""Multi-class Soft Dice and Soft IoU losses of Balance-batch (Huang et al.).

Both losses score the whole batch at once (section II.B, Eq. 5 and Algorithm 1). With
``p = softmax(logits)`` over classes, ``g`` the one-hot label and the sums over every
non-ignored pixel ``i`` of the batch:

* Soft Dice (Eq. 5): ``I_c = sum_i 2 p_ic g_ic``, ``U_c = sum_i (g_ic^2 + p_ic^2)``;
* Soft IoU: ``I_c = sum_i p_ic g_ic``, ``U_c = sum_i (p_ic + g_ic - p_ic g_ic)``;

and ``loss = -loss_weight * (1 / N) * sum_c w_c (I_c + smooth) / (U_c + smooth)`` with ``N``
the number of images in the batch, ``w_c`` optional class weights and ``smooth = 0`` as in
the paper. Pixels equal to ``ignore_index`` enter neither ``p`` nor ``g``. A class with
``U_c = 0`` (absent from the labels and predicted with probability exactly 0) contributes
0, so the loss is never NaN.

The ratios ``r_c = I_c / U_c`` come from one autograd function that never builds the one-hot
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


def _valid_labels(cls_score: Tensor, label: Tensor, weight: Optional[Tensor],
                  ignore_index: int) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Labels with ignored pixels set to 0, the valid mask and per-pixel weights."""
    if label.dim() == cls_score.dim() and label.shape[1] == 1:
        label = label[:, 0]
    if label.shape != cls_score.shape[:1] + cls_score.shape[2:]:
        raise ValueError(f'label shape {tuple(label.shape)} does not match cls_score '
                         f'{tuple(cls_score.shape)} (expected (N, *spatial))')
    valid = label != ignore_index
    lab = torch.where(valid, label, 0).long()
    num_classes = cls_score.shape[1]
    if lab.numel() and (int(lab.max()) >= num_classes or int(lab.min()) < 0):
        raise ValueError(f'labels must lie in [0, {num_classes}) or equal '
                         f'ignore_index={ignore_index}; got values in '
                         f'[{int(label[valid].min())}, {int(label[valid].max())}]')
    m = None
    if weight is not None:
        if weight.shape != label.shape:
            raise ValueError(f'pixel weight shape {tuple(weight.shape)} != label shape '
                             f'{tuple(label.shape)}')
        m = weight.to(torch.float32 if cls_score.dtype in (torch.float16, torch.bfloat16)
                      else cls_score.dtype) * valid
    return lab, valid, m


def _masked_softmax(logits: Tensor, drop: Optional[Tensor]) -> Tensor:
    """Softmax over dim 1 (float32 for half inputs), zero at the pixels in ``drop``."""
    work = torch.float32 if logits.dtype in (torch.float16, torch.bfloat16) \
        else logits.dtype
    p = torch.softmax(logits.to(work), dim=1).contiguous()  # in place below: no views
    if drop is not None:
        num_drop = int(drop.sum())
        if 4 * num_drop < drop.numel():  # few ignored pixels: index them
            n_idx, s_idx = drop.reshape(drop.shape[0], -1).nonzero(as_tuple=True)
            p.view(p.shape[0], p.shape[1], -1)[n_idx, :, s_idx] = 0
        else:
            p.mul_(~drop.unsqueeze(1))
    return p


class _SoftOverlapRatio(torch.autograd.Function):
    """Per-class ratios ``r_c = (I_c + s) / (U_c + s)`` for mode 'dice' or 'iou'.

    Gradient w.r.t. ``p`` (``I, U`` include ``s``; ``m`` the pixel weight, 0 if ignored):
    dice: ``dr_c/dp_ic = m_i (2 g_ic / U_c - 2 I_c p_ic / U_c^2)``;
    iou: ``dr_c/dp_ic = m_i (g_ic (1/U_c + I_c/U_c^2) - I_c / U_c^2)``.
    Both read ``m_i (a_c g_ic + b_c p_ic + e_c)``; through the softmax,
    ``dL/dx_ic = p_ic (gp_ic - sum_k p_ik gp_ik)``. ``I_c / U_c^2`` is evaluated as
    ``r_c / U_c``, so a class absent from the labels gets exactly 0 even when extreme
    logits make ``U_c^2`` underflow (a plain autograd transcription gives NaN there).
    """

    @staticmethod
    def forward(ctx, logits: Tensor, lab: Tensor, valid: Tensor, m: Optional[Tensor],
                mode: str, smooth: float) -> Tensor:
        keep = valid if m is None else m != 0
        p = _masked_softmax(logits, None if bool(keep.all()) else ~keep)
        num_classes = p.shape[1]
        lab1 = lab.unsqueeze(1)
        pg = p.gather(1, lab1).squeeze(1)  # p at the labelled class (0 if ignored)
        wpix = valid.to(p.dtype) if m is None else m
        flat_lab = lab.reshape(-1)
        tp = p.new_zeros(num_classes).index_add_(0, flat_lab, (pg * wpix).reshape(-1))
        cnt = p.new_zeros(num_classes).index_add_(0, flat_lab, wpix.reshape(-1))
        dims = [0] + list(range(2, p.dim()))
        if mode == 'dice':
            if m is None:
                sq = torch.linalg.vector_norm(p, dim=dims).square()
            else:
                sq = torch.stack([(p[:, c] * p[:, c] * m).sum() for c in range(num_classes)])
            inter, union = 2 * tp, cnt + sq
        else:
            ps = p.sum(dim=dims) if m is None else \
                torch.stack([(p[:, c] * m).sum() for c in range(num_classes)])
            inter, union = tp, ps + cnt - tp
        inter, union = inter + smooth, union + smooth
        nonzero = union > 0
        safe_u = torch.where(nonzero, union, torch.ones_like(union))
        ratio = torch.where(nonzero, inter / safe_u, torch.zeros_like(union))
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(logits, pg, lab1, m, ratio, safe_u, nonzero & (cnt > 0))
            ctx.mode, ctx.drop = mode, None if bool(keep.all()) else ~keep
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
        num_classes = p.shape[1]
        coef = (b if b is not None else e).tolist()
        a_pg = a[lab1.squeeze(1)] * pg  # a_y p_iy: the g-term, only at the label
        # s_i = sum_k p_ik (a_k g_ik + b_k p_ik + e_k)  (the factor m_i is applied last)
        s = a_pg.clone()
        for c in range(num_classes):
            pc = p[:, c]
            if b is not None:
                s.addcmul_(pc, pc, value=coef[c])
            else:
                s.add_(pc, alpha=coef[c])
        s.neg_()
        for c in range(num_classes):  # p_ic (b_c p_ic + e_c - s_i), in place
            pc = p[:, c]
            pc.mul_(torch.add(s, pc, alpha=coef[c]) if b is not None else s + coef[c])
        p.scatter_add_(1, lab1, a_pg.unsqueeze(1))  # + p_iy a_y g_iy
        if m is not None:
            p.mul_(m.unsqueeze(1))
        return p.to(logits.dtype), None, None, None, None, None


class SoftOverlapLoss(nn.Module):
    """Shared implementation of :class:`SoftDiceLoss` and :class:`SoftIoULoss`.

    Subclasses set :attr:`mode` (``'dice'`` or ``'iou'``) and the default loss name. The
    call signature is that of mmseg's ``CrossEntropyLoss``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        smooth (float): Added to ``I_c`` and ``U_c``; the paper uses 0 (then absent
            classes contribute 0; with ``smooth > 0`` they contribute
            ``smooth / (U_c + smooth)``). Defaults to 0.
        class_weight (Sequence[float], optional): Weight ``w_c`` of each class.
        reduction (str): ``'mean'``: Eq. 5, the class sum divided by the number of images
            ``N`` (or by ``avg_factor``); ``'sum'``: the class sum without ``1/N``;
            ``'none'``: the per-class terms ``-w_c r_c / N`` as a ``(C,)`` tensor.
        loss_name (str, optional): Name of the loss item (must start with ``loss_``).
    """

    mode = ''
    default_name = ''

    def __init__(self,
                 loss_weight: float = 1.0,
                 smooth: float = 0.0,
                 class_weight: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 loss_name: Optional[str] = None) -> None:
        super().__init__()
        if self.mode not in ('dice', 'iou'):
            raise TypeError('use SoftDiceLoss or SoftIoULoss')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction must be none|mean|sum, got {reduction!r}')
        if smooth < 0:
            raise ValueError(f'smooth must be >= 0, got {smooth}')
        loss_name = loss_name or self.default_name
        if not loss_name.startswith('loss_'):
            raise ValueError(f'loss_name must start with "loss_", got {loss_name!r}')
        self.loss_weight = float(loss_weight)
        self.smooth = float(smooth)
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.reduction = reduction
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item (mmseg sums items named ``loss_*``)."""
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, smooth={self.smooth}, '
                f'class_weight={self.class_weight}, reduction={self.reduction!r}')

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits ``(N, C, *spatial)``.
            label (Tensor): Class ids ``(N, *spatial)`` (or ``(N, 1, *spatial)``).
            weight (Tensor, optional): Per-pixel weights ``(N, *spatial)``.
            avg_factor (float, optional): Replaces ``N`` in the ``'mean'`` reduction.
            reduction_override (str, optional): Overrides :attr:`reduction`.
            ignore_index (int): Label value that is ignored. Defaults to 255.

        Returns:
            Tensor: The loss (a scalar, or ``(C,)`` with reduction ``'none'``).
        """
        reduction = reduction_override or self.reduction
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction must be none|mean|sum, got {reduction!r}')
        if cls_score.dim() < 2:
            raise ValueError(f'cls_score must be (N, C, ...), got {tuple(cls_score.shape)}')
        lab, valid, m = _valid_labels(cls_score, label, weight, ignore_index)
        ratio = _SoftOverlapRatio.apply(cls_score, lab, valid, m, self.mode, self.smooth)
        if self.class_weight is not None:
            if len(self.class_weight) != ratio.numel():
                raise ValueError(f'class_weight has {len(self.class_weight)} entries, '
                                 f'cls_score {ratio.numel()} classes')
            ratio = ratio * ratio.new_tensor(self.class_weight)
        if reduction == 'sum':
            loss = -ratio.sum()
        else:
            denom = float(avg_factor) if avg_factor is not None else cls_score.shape[0]
            loss = -ratio / denom
            if reduction == 'mean':
                loss = loss.sum()
        return self.loss_weight * loss


@MODELS.register_module()
class SoftDiceLoss(SoftOverlapLoss):
    """Multi-class Soft Dice loss, Eq. 5 / Algorithm 1 (see :class:`SoftOverlapLoss`).

    ``I_c = sum_i 2 p_ic g_ic``, ``U_c = sum_i (g_ic^2 + p_ic^2)``,
    ``loss = -(1/N) sum_c I_c / U_c``. Default ``loss_name='loss_soft_dice'``.
    """

    mode = 'dice'
    default_name = 'loss_soft_dice'


@MODELS.register_module()
class SoftIoULoss(SoftOverlapLoss):
    """Multi-class Soft IoU loss of section III.B (see :class:`SoftOverlapLoss`).

    ``I_c = sum_i p_ic g_ic``, ``U_c = sum_i (p_ic + g_ic - p_ic g_ic)``,
    ``loss = -(1/N) sum_c I_c / U_c``. Default ``loss_name='loss_soft_iou'``.
    """

    mode = 'iou'
    default_name = 'loss_soft_iou'
