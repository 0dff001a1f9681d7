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
"""

from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmseg.models.losses import CrossEntropyLoss as _SegCrossEntropyLoss
from torch import Tensor

from mmext.registry import MODELS

from .empty_batch import empty_batch_loss

#: Default runtime-info key of the per-class record.
CLASS_LOSS_KEY = 'mmext/class_ce'


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
        k = cls_score.shape[1]
        logp = F.log_softmax(cls_score.detach().float(), dim=1)
        valid = label != ignore_index
        target = torch.where(valid, label, torch.zeros_like(label)).long()
        nll = -logp.gather(1, target.unsqueeze(1)).squeeze(1) * valid
        record = logp.new_zeros(2, k)
        record[0].scatter_add_(0, target.flatten(), nll.flatten())
        record[1].scatter_add_(0, target.flatten(), valid.flatten().to(record.dtype))
    return record


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
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        ignore_index: int = -100,
        **kwargs,
    ) -> Tensor:
        """mmseg's CE loss; records the per-class CE in training mode.

        Args:
            cls_score (Tensor): Logits ``(N, K, H, W)``.
            label (Tensor): Labels ``(N, H, W)``.
            weight (Tensor, optional): Per-pixel weight (mmseg).
            avg_factor (float, optional): Average factor (mmseg).
            reduction_override (str, optional): ``'none'``, ``'mean'`` or ``'sum'``.
            ignore_index (int): Ignored label (mmseg passes the head's). Defaults to -100.

        Returns:
            Tensor: The CE loss, exactly mmseg's; on an empty batch (N = 0) the graph-keeping
            zero of mmext's empty-batch policy (mmseg's mean would be NaN).
        """
        if self.training:
            MessageHub.get_current_instance().update_info(
                self.info_key, class_ce_record(cls_score, label, ignore_index), resumed=False
            )
        if cls_score.shape[0] == 0:
            reduction = reduction_override or self.reduction
            return empty_batch_loss(
                cls_score, shape=tuple(label.shape) if reduction == 'none' else None
            )
        return super().forward(
            cls_score,
            label,
            weight=weight,
            avg_factor=avg_factor,
            reduction_override=reduction_override,
            ignore_index=ignore_index,
            **kwargs,
        )
