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
from mmext.structures.instance_weights import get_gt_weights

from .weighted_rpn_head import image_mix_weights

#: the loss weightings of :class:`WeightedStandardRoIHead`
WEIGHTINGS = ('object', 'image')


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
    zero-weight sample does in mmdet.) The paper's authors' code (GluonCV) uses no per-object
    weights in its Faster R-CNN: it mixes with a fixed 0.5 and scales the whole loss of the
    image (``weighting='image'`` below); this default makes the weighted loss of Table 1
    available to two-stage detectors.

    In this default mode the RPN is deliberately **not** weighted: its objectness is class
    agnostic ("is there an object here?") and a blended object is still an object in the
    mixed pixels; down-weighting its anchors would only lower proposal recall for faint
    objects, whose RoIs then would not reach this weighted head at all. Keeping the RPN
    upstream also keeps every mmdet RPN head usable unchanged.

    Without a ``weights`` field the head runs exactly mmdet's code path; with all weights 1 the
    losses are identical to mmdet's. The bbox head must follow ``BBoxHead``'s target/loss
    contract (``Shared2FCBBoxHead``, ``ConvFCBBoxHead``, ``Shared4Conv1FCBBoxHead``, ...).

    ``weighting='image'`` is the reading of the authors' code instead (GluonCV
    ``gluoncv/model_zoo/rcnn/faster_rcnn/data_parallel.py``, ``ForwardBackwardTask``:
    ``total_loss = rpn_loss.sum() * mix_ratio + rcnn_loss.sum() * mix_ratio``): every sampled
    RoI of image ``i``, positive or negative, gets its classification and regression weights
    multiplied by the image's mix ratio ``w_i`` (``metainfo['mixup_ratio']``, see
    :func:`~mmext.models.heads.weighted_rpn_head.image_mix_weights`), the per-object
    ``weights`` are ignored, and the normalisers stay mmdet's, so

    - ``loss_cls = sum_i w_i * sum_{RoIs of i} CE / #RoIs``,
    - ``loss_bbox = sum_i w_i * sum_{positives of i} L1 / #RoIs``

    (a batch of equal ratios ``w``: ``w`` times mmdet's losses). Pair it with
    ``mmext.ImageWeightedRPNHead`` to scale the RPN loss too, as GluonCV does.

    Args:
        *args: Positional arguments of ``StandardRoIHead``.
        weighting (str): ``'object'`` (default, the paper's Table 1 "weighted loss" on the
            positives, Sec. 3.1) or ``'image'`` (GluonCV's whole-loss scaling by the image's
            mix ratio).
        **kwargs: Keyword arguments of ``StandardRoIHead``.
    """

    def __init__(self, *args, weighting: str = 'object', **kwargs) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f'weighting must be one of {WEIGHTINGS}, got {weighting!r}')
        super().__init__(*args, **kwargs)
        self.weighting = weighting
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
        # per-image gt weights (``'image'``: per-image floats), set only while ``loss`` runs
        self._batch_gt_weights: Optional[List] = None

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
        if self.weighting == 'image':
            ratios = image_mix_weights([sample.metainfo for sample in batch_data_samples])
            weights = [None if w == 1.0 else w for w in ratios]
        else:
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

    @staticmethod
    def image_sample_weights(
        sampling_results: List[SamplingResult], image_weights: List[Optional[float]]
    ) -> Tensor:
        """Per-RoI loss weight of ``weighting='image'``: the image's weight for all its RoIs.

        Args:
            sampling_results (list[SamplingResult]): Sampling result per image.
            image_weights (list[float | None]): Mix ratio per image (None = 1).

        Returns:
            Tensor: (num_rois,) in ``BBoxHead.get_targets(concat=True)`` order, on the
            device and in the dtype of the RoIs.
        """
        return torch.cat(
            [
                res.priors.new_full(
                    (len(res.pos_inds) + len(res.neg_inds),), 1.0 if w is None else w
                )
                for res, w in zip(sampling_results, image_weights)
            ]
        )

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
        if self.weighting == 'image':
            roi_weights = self.image_sample_weights(sampling_results, self._batch_gt_weights)
        else:
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
