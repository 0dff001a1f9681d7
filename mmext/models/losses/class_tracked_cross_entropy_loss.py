"""Pixel-wise CE that also records each class's batch loss, for Stochastic TCE's class reading.

Algorithm 1 of the TCE paper (line 5) computes ":math:`\\mathcal L_B` = the loss (1) on
:math:`B`" for the batch :math:`B` drawn for class :math:`c`, and Sec. 2.1 says it "drops the
superscript" of Eqs. 2/3 and "uses a subscript to refer to the class
:math:`\\tilde{\\mathcal L}_c` and batch of data within the class :math:`\\tilde{\\mathcal L}_B`".
Two readings follow:

* **batch** (the documented reading, :class:`~mmext.engine.hooks.TiltedClassHook`'s
  default ``batch_loss='batch'``): :math:`\\mathcal L_B` is the mean pixel CE of the whole
  batch. Every batch holds several classes (background most), so the per-class estimates
  :math:`\\tilde{\\mathcal L}_c` differ little and the weights barely move;
* **class** (``batch_loss='class'``): :math:`\\mathcal L_B` is the CE of the drawn class's own
  pixels in the batch, :math:`\\mathcal L_{B,c} = -\\frac1{n_{B,c}}\\sum_{i: y_i = c}
  \\log \\hat y_{i,c}` (Eq. 3's :math:`\\mathcal L_{m,c}` pooled over the batch).

:class:`ClassTrackedCrossEntropyLoss` trains exactly as mmseg's ``CrossEntropyLoss`` (it
subclasses it: same arguments, same value and gradient) and, under ``no_grad``, stores the
batch's per-class CE sums and pixel counts (shape ``(2, K)``, on the logits' device, no host
synchronisation) in the current :class:`~mmengine.logging.MessageHub`'s runtime info under
``info_key``, where ``TiltedClassHook(batch_loss='class')`` reads the drawn class's entry.
The recorded values ignore ``class_weight`` and ``loss_weight`` (a per-class constant would
only rescale the tilt). Use it in one head only (the decode head): a second instance with the
same ``info_key`` would overwrite the first's record.

**One CE computation.** The per-pixel CE is computed once (``F.cross_entropy`` with
``reduction='none'``, as mmseg's ``cross_entropy`` does); the record sums it per class, and the
loss weights and reduces it with mmseg's own rules (``class_weight`` per pixel, the per-pixel
``weight``, ``avg_factor``, ``avg_non_ignore``, ``loss_weight``), so value and gradient are
mmseg's bit for bit. One step differs in how, not in what: with ``avg_non_ignore=True`` mmseg
reads the count of non-ignored pixels back to the host (``.item()``) and divides by that host
number; here the count stays on the device and the division is done as PyTorch does it for a
host scalar (a true division on CPU, a product with the reciprocal on CUDA: see
:func:`mean_by_device_count`), so the same bits need no host synchronisation.
"""

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.models.losses import CrossEntropyLoss as _SegCrossEntropyLoss
from mmseg.models.losses.utils import weight_reduce_loss
from torch import Tensor

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss
from .utils import constant_tensor

#: Default runtime-info key of the per-class record.
CLASS_LOSS_KEY = 'mmext/class_ce'


def _record(nll: Tensor, target: Tensor, valid: Tensor, num_classes: int) -> Tensor:
    """Per-class sums and counts of a per-pixel CE (see :func:`class_ce_record`).

    Args:
        nll (Tensor): Unweighted per-pixel CE, 0 at ignored pixels (``label``'s shape).
        target (Tensor): Labels with the ignored ones replaced by 0 (int64).
        valid (Tensor): Mask of the non-ignored pixels.
        num_classes (int): Number of classes ``K``.

    Returns:
        Tensor: ``(2, K)`` float32 on ``nll``'s device: CE sums, pixel counts.
    """
    with torch.no_grad():
        record = nll.new_zeros((2, num_classes), dtype=torch.float32)
        record[0].scatter_add_(0, target.flatten(), nll.detach().float().flatten())
        record[1].scatter_add_(0, target.flatten(), valid.flatten().float())
    return record


def _pixel_ce(cls_score: Tensor, label: Tensor, ignore_index: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Unweighted per-pixel CE, the non-ignored mask and the labels with ignored ones at 0.

    Args:
        cls_score (Tensor): Logits ``(N, K, H, W)`` (or ``(N, K)``).
        label (Tensor): Class indices ``(N, H, W)`` (or ``(N,)``).
        ignore_index (int): Label without a loss.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``F.cross_entropy(..., reduction='none')`` (0 at
        ignored pixels), the mask ``label != ignore_index`` and the int64 ``target``.
    """
    nll = F.cross_entropy(cls_score, label, reduction='none', ignore_index=ignore_index)
    valid = label != ignore_index
    target = torch.where(valid, label, torch.zeros_like(label)).long()
    return nll, valid, target


def class_ce_record(cls_score: Tensor, label: Tensor, ignore_index: int = 255) -> Tensor:
    """Per-class CE sums and pixel counts of a batch (no graph, no host synchronisation).

    Args:
        cls_score (Tensor): Logits ``(N, K, H, W)`` (or ``(N, K)``).
        label (Tensor): Class indices ``(N, H, W)`` (or ``(N,)``); ``ignore_index`` skipped.
        ignore_index (int): Label without a loss. Defaults to 255.

    Returns:
        Tensor: ``(2, K)`` float32 on ``cls_score``'s device: row 0 the sum of
        :math:`-\\log \\hat y_{i,c}` over the pixels ``i`` of class ``c``, row 1 their count.
    """
    with torch.no_grad():
        nll, valid, target = _pixel_ce(cls_score.detach(), label, ignore_index)
    return _record(nll, target, valid, cls_score.shape[1])


def mean_by_device_count(loss: Tensor, count: Tensor) -> Tensor:
    """``loss.sum() / (count + eps)`` with the bits of a division by the host number ``count``.

    mmseg's ``cross_entropy`` divides by ``count.item() + eps`` (a Python float). PyTorch
    divides by such a host scalar in the op's math type (float32 for half-precision losses):
    a true division on CPU and, on CUDA, a product with the scalar's reciprocal. Doing the same
    with ``count`` left on the device gives the same bits without reading it back (exact for
    ``count`` below :math:`2^{24}` pixels, where float32 holds the count exactly).

    Args:
        loss (Tensor): Element-wise loss (already weighted).
        count (Tensor): Integer 0-dim tensor, the normaliser.

    Returns:
        Tensor: The 0-dim mean, of ``loss``'s dtype.
    """
    opmath = torch.promote_types(loss.dtype, torch.float32)
    denominator = count.to(opmath) + torch.finfo(torch.float32).eps
    total = loss.sum()
    if total.device.type == 'cpu':
        mean = total / denominator
    else:
        mean = total * torch.reciprocal(denominator)
    return mean.to(loss.dtype)


@MODELS.register_module()
class ClassTrackedCrossEntropyLoss(_SegCrossEntropyLoss):
    """mmseg's softmax CE that records the batch's per-class CE (see the module docstring).

    Args:
        info_key (str): MessageHub runtime-info key of the ``(2, K)`` record. Defaults to
            ``'mmext/class_ce'`` (``TiltedClassHook``'s ``class_loss_key`` default).
        **kwargs: mmseg's ``CrossEntropyLoss`` arguments (``class_weight``, ``reduction``,
            ``loss_weight``, ``loss_name`` (default ``'loss_ce'``), ``avg_non_ignore``).
            ``use_sigmoid`` / ``use_mask`` are refused: the record is a softmax CE.
    """

    def __init__(self, info_key: str = CLASS_LOSS_KEY, **kwargs) -> None:
        if kwargs.get('use_sigmoid') or kwargs.get('use_mask'):
            raise ValueError(
                'ClassTrackedCrossEntropyLoss is a softmax CE: use_sigmoid / use_mask are '
                'not supported'
            )
        super().__init__(**kwargs)
        self.info_key = info_key

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[Union[float, Tensor]] = None,
        reduction_override: Optional[str] = None,
        ignore_index: int = -100,
        **kwargs,
    ) -> Tensor:
        """mmseg's CE loss; records the per-class CE in training mode.

        Args:
            cls_score (Tensor): Logits ``(N, K, H, W)``.
            label (Tensor): Labels ``(N, H, W)``.
            weight (Tensor, optional): Per-pixel weight (mmseg).
            avg_factor (float | Tensor, optional): Average factor (mmseg).
            reduction_override (str, optional): ``'none'``, ``'mean'`` or ``'sum'``.
            ignore_index (int): Ignored label (mmseg passes the head's). Defaults to -100.
            **kwargs: Accepted for mmseg's signature; mmseg's ``cross_entropy`` takes no other
                argument, so any given is a ``TypeError`` as there.

        Returns:
            Tensor: The CE loss, exactly mmseg's; on an empty batch (N = 0) the graph-keeping
            zero of mmext's empty-batch policy (mmseg's mean would be NaN).
        """
        if kwargs:
            raise TypeError(f'unexpected keyword arguments {sorted(kwargs)}')
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override if reduction_override else self.reduction
        nll, valid, target = _pixel_ce(cls_score, label, ignore_index)
        if self.training:
            MessageHub.get_current_instance().update_info(
                self.info_key, _record(nll, target, valid, cls_score.shape[1]), resumed=False
            )
        if cls_score.shape[0] == 0:
            return empty_batch_loss(
                cls_score, shape=tuple(label.shape) if reduction == 'none' else None
            )
        class_weight = None
        if self.class_weight is not None:
            class_weight = constant_tensor(self.class_weight, cls_score)
            # F.cross_entropy(weight=w) per pixel is -w[y] log p_y (0 where ignored): the same
            # product, so the same bits, as the unweighted CE times w[y]
            nll = nll * class_weight[target]
        return self.loss_weight * self._reduce(
            nll, label, valid, target, weight, class_weight, reduction, avg_factor
        )

    def _reduce(
        self,
        loss: Tensor,
        label: Tensor,
        valid: Tensor,
        target: Tensor,
        weight: Optional[Tensor],
        class_weight: Optional[Tensor],
        reduction: str,
        avg_factor: Optional[Union[float, Tensor]],
    ) -> Tensor:
        """mmseg's ``cross_entropy`` after its ``F.cross_entropy``: averaging factor, reduction.

        Args:
            loss (Tensor): Per-pixel CE, ``class_weight`` applied.
            label (Tensor): Labels.
            valid (Tensor): ``label != ignore_index``.
            target (Tensor): ``label`` with the ignored labels replaced by 0.
            weight (Tensor, optional): Per-pixel weight.
            class_weight (Tensor, optional): Per-class weight on the logits' device.
            reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            avg_factor (float | Tensor, optional): The caller's average factor.

        Returns:
            Tensor: The reduced loss (before ``loss_weight``).
        """
        count = None
        if avg_factor is None and reduction == 'mean':
            if class_weight is not None:
                # mmseg: the sum of the labels' class weights, the ignored pixels' set to 0
                # with avg_non_ignore (mmseg indexes the weights with the raw labels first,
                # which fails for an ignore_index outside the classes; 0 here, as asked) and
                # counted otherwise (an ignore_index outside the classes fails, as in mmseg)
                if self.avg_non_ignore:
                    label_weights = class_weight[target].masked_fill(~valid, 0)
                else:
                    label_weights = class_weight[label]
                avg_factor = label_weights.sum()
            elif self.avg_non_ignore:
                count = valid.sum()  # mmseg reads it back with .item(); kept on the device
            else:
                avg_factor = label.numel()
        if weight is not None:
            weight = weight.float()
        if count is None:
            return weight_reduce_loss(
                loss, weight=weight, reduction=reduction, avg_factor=avg_factor
            )
        return mean_by_device_count(
            weight_reduce_loss(loss, weight=weight, reduction='none'), count
        )
