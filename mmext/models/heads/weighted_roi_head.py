"""Faster R-CNN RoI head whose losses honour per-object mixup weights (Bag of Freebies)."""

from typing import List, Optional, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from mmext.registry import MODELS

from .instance_weights import get_gt_weights


@MODELS.register_module()
class WeightedStandardRoIHead(StandardRoIHead):
    """mmdet's ``StandardRoIHead`` with per-object loss weights from coherent mixup.

    Bag of Freebies (Table 1, "weighted loss"): each object's loss is scaled by the blending
    ratio of the image it comes from (``gt_instances.weights``, written by
    ``mmext.CoherentMixUp`` and packed by ``mmext.PackDetInputsWithWeights``). For the R-CNN
    stage, a sampled positive RoI assigned to ground truth ``j`` (``pos_assigned_gt_inds``)
    gets its classification weight and its four regression weights multiplied by ``w_j``;
    negative RoIs keep weight 1. With mmdet's reductions this gives

    - ``loss_cls = (sum_pos w_j * CE_i + sum_neg CE_i) / #{RoIs with nonzero weight}``,
    - ``loss_bbox = sum_pos w_j * L1_i / #RoIs``.

    (A positive of weight exactly 0 drops out of the classification normaliser, as any
    zero-weight sample does in mmdet.) The paper's authors' code (GluonCV) does not weight its
    Faster R-CNN at all and mixes with a fixed 0.5; this head makes the weighted loss of
    Table 1 available to two-stage detectors.

    The RPN is deliberately **not** weighted: its objectness is class agnostic ("is there an
    object here?") and a blended object is still an object in the mixed pixels; down-weighting
    its anchors would only lower proposal recall for faint objects, whose RoIs then would not
    reach this weighted head at all. Keeping the RPN upstream also keeps every mmdet RPN head
    usable unchanged.

    Without a ``weights`` field the head runs exactly mmdet's code path; with all weights 1 the
    losses are identical to mmdet's. The bbox head must follow ``BBoxHead``'s target/loss
    contract (``Shared2FCBBoxHead``, ``ConvFCBBoxHead``, ``Shared4Conv1FCBBoxHead``, ...).

    Args:
        *args: Positional arguments of ``StandardRoIHead``.
        **kwargs: Keyword arguments of ``StandardRoIHead``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_bbox:
            head_type = type(self.bbox_head)
            if not isinstance(self.bbox_head, BBoxHead) or any(
                getattr(head_type, name) is not getattr(BBoxHead, name)
                for name in ('loss_and_target', 'get_targets', 'loss')
            ):
                raise TypeError(
                    'WeightedStandardRoIHead needs a bbox head that uses BBoxHead.get_targets '
                    f'and BBoxHead.loss (e.g. Shared2FCBBoxHead), got {head_type.__name__}'
                )
        # per-image gt weights, set only while ``loss`` runs
        self._batch_gt_weights: Optional[List[Optional[Tensor]]] = None

    def loss(
        self,
        x: Tuple[Tensor],
        rpn_results_list: InstanceList,
        batch_data_samples: List[DetDataSample],
    ) -> dict:
        """Assign, sample and compute the (weighted) RoI losses.

        Args:
            x (tuple[Tensor]): Multi-level image features.
            rpn_results_list (list[InstanceData]): Proposals per image.
            batch_data_samples (list[DetDataSample]): Samples with ``gt_instances`` (optional
                ``weights``).

        Returns:
            dict[str, Tensor]: The loss components, as ``StandardRoIHead.loss``.
        """
        weights = [get_gt_weights(sample.gt_instances) for sample in batch_data_samples]
        self._batch_gt_weights = None if all(w is None for w in weights) else weights
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        finally:
            self._batch_gt_weights = None

    def sample_weights(
        self, sampling_results: List[SamplingResult], batch_gt_weights: List[Optional[Tensor]]
    ) -> Tensor:
        """Per-RoI loss weight in ``BBoxHead.get_targets(concat=True)`` order.

        Args:
            sampling_results (list[SamplingResult]): Sampling result per image.
            batch_gt_weights (list[Tensor | None]): Object weights per image (None = ones).

        Returns:
            Tensor: (num_rois,) with ``w[pos_assigned_gt_inds]`` for each image's positives
            followed by ones for its negatives.
        """
        per_image = []
        for res, gt_weights in zip(sampling_results, batch_gt_weights):
            ones = res.priors.new_ones(len(res.pos_inds) + len(res.neg_inds))
            if gt_weights is not None and len(res.pos_inds) > 0:
                ones[: len(res.pos_inds)] = gt_weights.to(ones)[res.pos_assigned_gt_inds]
            per_image.append(ones)
        return torch.cat(per_image)

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        """Box-head forward and losses with positives weighted by their object's weight.

        Args:
            x (tuple[Tensor]): Multi-level image features.
            sampling_results (list[SamplingResult]): Sampling result per image.

        Returns:
            dict: ``cls_score``, ``bbox_pred``, ``bbox_feats`` and ``loss_bbox`` (a dict).
        """
        if self._batch_gt_weights is None:
            return super().bbox_loss(x, sampling_results)
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        labels, label_weights, bbox_targets, bbox_weights = self.bbox_head.get_targets(
            sampling_results, self.train_cfg, concat=True
        )
        roi_weights = self.sample_weights(sampling_results, self._batch_gt_weights)
        label_weights = label_weights * roi_weights
        bbox_weights = bbox_weights * roi_weights[:, None]
        loss_bbox = self.bbox_head.loss(
            bbox_results['cls_score'],
            bbox_results['bbox_pred'],
            rois,
            labels,
            label_weights,
            bbox_targets,
            bbox_weights,
        )
        bbox_results.update(loss_bbox=loss_bbox)
        return bbox_results
